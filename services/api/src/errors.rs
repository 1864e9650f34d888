//! The one place where problems become gRPC statuses with `google.rpc` details (AIP-193):
//! `INVALID_ARGUMENT` carries a `BadRequest` with one field violation per problem (each with a
//! stable reason and a message localised to the request's locale), an `ErrorInfo` with a stable
//! reason, and a `LocalizedMessage`.

use std::collections::HashMap;

use domain_model::Locale;
use tonic::{Code, Status};
use tonic_types::{BadRequest, ErrorDetail, ErrorInfo, FieldViolation, LocalizedMessage, StatusExt};

/// The `ErrorInfo.domain` of every error this product returns.
pub const ERROR_DOMAIN: &str = "maturity.v1";

/// `ErrorInfo.reason` of a request refused for invalid fields.
pub const REASON_INVALID_REQUEST: &str = "INVALID_REQUEST";

pub use crate::Violation;

/// `INVALID_ARGUMENT` with every violation. The status message summarises in English; the
/// localised messages follow `locale`.
pub fn invalid_argument(violations: &[Violation], locale: Locale) -> Status {
    let summary = match violations {
        [one] => format!("invalid request: {}: {}", one.field, one.en),
        many => format!(
            "invalid request: {} problems: {}",
            many.len(),
            many.iter().map(|v| format!("{}: {}", v.field, v.en)).collect::<Vec<_>>().join("; ")
        ),
    };
    let localized_summary = match locale {
        Locale::Nl => format!("Het verzoek bevat {} fout(en); zie de veldmeldingen.", violations.len()),
        Locale::En => format!("The request has {} problem(s); see the field violations.", violations.len()),
    };
    let field_violations: Vec<FieldViolation> = violations
        .iter()
        .map(|v| FieldViolation {
            field: v.field.clone(),
            description: v.en.clone(),
            reason: v.reason.clone(),
            localized_message: Some(LocalizedMessage::new(
                locale.tag(),
                if locale == Locale::Nl { v.nl.clone() } else { v.en.clone() },
            )),
        })
        .collect();
    let metadata = HashMap::from([("violations".to_string(), violations.len().to_string())]);
    Status::with_error_details_vec(
        Code::InvalidArgument,
        summary,
        [
            ErrorDetail::BadRequest(BadRequest::new(field_violations)),
            ErrorDetail::ErrorInfo(ErrorInfo::new(REASON_INVALID_REQUEST, ERROR_DOMAIN, metadata)),
            ErrorDetail::LocalizedMessage(LocalizedMessage::new(locale.tag(), localized_summary)),
        ],
    )
}

/// The locale a request asks for; an unknown one is a violation of `field`, and the answer
/// falls back to Dutch.
pub fn request_locale(raw: &str, field: &str, violations: &mut Vec<Violation>) -> Locale {
    Locale::parse_request(raw).unwrap_or_else(|| {
        violations.push(Violation {
            field: field.to_string(),
            reason: "UNKNOWN_LOCALE".to_string(),
            en: format!("unknown locale `{raw}`: expected `nl` or `en`"),
            nl: format!("onbekende taal `{raw}`: verwacht `nl` of `en`"),
        });
        Locale::default()
    })
}
