//! The application's share of one `ScoreAssessment`, without the network or the server stack:
//! decoding the sample request, validating and scoring it, converting and encoding the result.
//! Prints the mean time of each step over many iterations on one core.
//!
//! `cargo run --release -p tools-loadgen --example score_path`

use std::hint::black_box;
use std::time::Instant;

use prost::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let registry = std::sync::Arc::new(domain_model::ModelRegistry::builtin()?);
    let scoring = services_scoring::Scoring::new(registry);
    let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN)?;
    let bytes = sample.request.encode_to_vec();
    let n: u32 = 200_000;

    let t = Instant::now();
    for _ in 0..n {
        black_box(services_api::v1::ScoreAssessmentRequest::decode(black_box(bytes.as_slice()))?);
    }
    let decode = t.elapsed() / n;

    let t = Instant::now();
    for _ in 0..n {
        let scored = scoring.score(black_box(&sample.request)).map_err(|(v, _)| anyhow::anyhow!("{v:?}"))?;
        black_box(scored);
    }
    let score = t.elapsed() / n;

    let s = scoring.score(&sample.request).map_err(|(v, _)| anyhow::anyhow!("{v:?}"))?;
    let mut len = 0;
    let t = Instant::now();
    for _ in 0..n {
        let r = services_api::convert::result_to_pb(&s.model, &s.assessment, s.locale);
        len = r.encoded_len();
        black_box(r.encode_to_vec());
    }
    let encode = t.elapsed() / n;

    let model = services_api::convert::model_to_pb(&s.model, domain_model::Locale::Nl).encoded_len();
    println!("request {} bytes, result {len} bytes, GetModel (nl) {model} bytes, {n} iterations", bytes.len());
    println!("decode request      {decode:?}");
    println!("validate and score  {score:?}");
    println!("convert and encode  {encode:?}");
    println!("total               {:?}", decode + score + encode);
    Ok(())
}
