//! The Typst escaping of user text (firm names, free text): whatever the text, the markup we make
//! of it parses, by Typst's own parser, to one string literal whose value is exactly that text,
//! followed by nothing that could run as code. No text can become markup or a command.

#![no_main]

use libfuzzer_sys::fuzz_target;
use typst_syntax::{SyntaxKind, SyntaxNode, ast};

#[path = "../../report-gen/src/escape.rs"]
#[allow(dead_code)]
mod escape;

fn leaves<'a>(node: &'a SyntaxNode, out: &mut Vec<&'a SyntaxNode>) {
    if node.children().len() == 0 {
        out.push(node);
    }
    for child in node.children() {
        leaves(child, out);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let markup = escape::typst_text(text);
    let root = typst_syntax::parse(&markup);
    let (errors, _) = root.errors_and_warnings();
    assert!(errors.is_empty(), "{markup:?} does not parse: {errors:?}");
    let mut all = Vec::new();
    leaves(&root, &mut all);
    let kinds: Vec<SyntaxKind> = all.iter().map(|n| n.kind()).collect();
    assert_eq!(kinds, [SyntaxKind::Hash, SyntaxKind::Str, SyntaxKind::Semicolon], "{markup:?}");
    let value = all[1].cast::<ast::Str>().map(|s| s.get());
    assert_eq!(value.as_deref(), Some(text), "{markup:?}");
});
