//! Integration tests of the model loader: the shipped model is valid and complete, and a broken
//! model file is refused with every problem and the line it is on.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod broken;
mod builtin;
