//! A gRPC client that sends request bytes as they are and keeps response bytes undecoded: the load
//! generator uses it so that its own cost per call is small and the same for every RPC (what its
//! figures compare is then the server's work), and the hostile-input tests use it to send bytes no
//! generated client would.

use bytes::{Buf, BufMut, Bytes};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Passes bytes through unchanged in both directions.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

/// Writes the bytes as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawEncoder;

/// Reads the message's bytes as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// Calls `path` (for example `/maturity.v1.ScoringService/ScoreAssessment`) with `body`.
pub async fn call(channel: Channel, path: &str, body: Bytes) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::try_from(path).map_err(|e| Status::invalid_argument(e.to_string()))?;
    grpc.unary(tonic::Request::new(body), path, RawCodec).await.map(tonic::Response::into_inner)
}
