//! Integration tests of the model loader: the shipped model is valid and complete, and a broken
//! model file is refused with every problem and the line it is on.

mod builtin;
mod broken;
