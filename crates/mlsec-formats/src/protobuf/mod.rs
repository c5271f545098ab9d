//! Protobuf-based model formats (ONNX, TensorFlow), decoded with prost from
//! hand-written message structs: no build script, no protoc.

pub mod onnx;
pub mod savedmodel;
pub mod wire;

pub use prost::Message;
