//! Compiles `proto/maturity/v1/*.proto` with the pure-Rust `protox` (no system `protoc` needed on a
//! fresh machine), with the `google.api` annotations of `proto/google/api`; generates prost
//! messages and tonic stubs from the descriptor set, and writes the encoded descriptor set next to
//! them for gRPC server reflection, the JSON gateway's routes and the OpenAPI document.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let dir = proto_root.join("maturity/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    // Sorted, so that the generated code and the descriptor set do not depend on directory order.
    files.sort();
    // The annotations' own definitions (google.api.http, google.api.field_behavior), imported by ours.
    let annotations = proto_root.join("google/api");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed={}", annotations.display());
    let imported: Vec<PathBuf> = std::fs::read_dir(&annotations)?.filter_map(Result::ok).map(|e| e.path()).collect();
    for f in files.iter().chain(&imported) {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler.include_source_info(true).include_imports(true).open_files(&files)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Encoded by protox itself, which keeps the options' extensions (the google.api annotations
    // that the gateway and the OpenAPI document read); prost's own types would drop them.
    std::fs::write(out.join("maturity_v1_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
