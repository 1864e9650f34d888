//! The questionnaire's pages on the HTTP port, for the firm's browser: a start page, one page per
//! section of the model (`domain_model::questionnaire`), a review page and the submission. Every
//! page works without JavaScript: a page's form saves its answers into the invitation's draft on
//! the server and moves on. Forms carry a CSRF token that must match the `q_csrf` cookie (the
//! double-submit pattern; the cookie is `SameSite=Strict`), and cross-site posts are refused by
//! their `Origin` and `Sec-Fetch-Site`. An unknown link counts against the address that tried it
//! (`Guesses`), so that guessing tokens is slow. Nothing is stored from a refused form.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain_model::questionnaire::{self, Page};
use domain_model::{Locale, Model};
use serde::{Deserialize, Serialize};
use services_api::v1 as pb;
use store::invitations::{self, Invitation, State as Stage};
use store::tenants::Caller;
use store::time::now_us;
use subtle::ConstantTimeEq;

use crate::Questionnaire;
use crate::form::{self, Go, Refusal};
use crate::view::{self, Choice, Frame, Problem, Question};

/// Largest form body accepted: a page of answers is a few kilobytes.
pub const MAX_FORM: usize = 64 * 1024;
/// How long a form's body may take to arrive once its headers are in.
const BODY_TIME: std::time::Duration = std::time::Duration::from_secs(30);
/// The CSRF cookie.
const CSRF_COOKIE: &str = "q_csrf";
/// What the pages may load: their own style sheet and script, nothing else; no inline code, no
/// frames, no other form targets.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Debug, Deserialize)]
struct Lang {
    lang: Option<String>,
}

/// The routes of the pages, for the HTTP port.
pub fn router(q: Questionnaire) -> axum::Router {
    axum::Router::new()
        .route("/q-assets/questionnaire.css", get(stylesheet))
        .route("/q-assets/questionnaire.js", get(script))
        .route("/q/{token}", get(start))
        .route("/q/{token}/review", get(review))
        .route("/q/{token}/submit", axum::routing::post(submit))
        .route("/q/{token}/{number}", get(page).post(save))
        .with_state(q)
}

async fn stylesheet() -> Response {
    let css = include_str!("../assets/questionnaire.css");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], css)
        .into_response()
}

async fn script() -> Response {
    let js = include_str!("../assets/questionnaire.js");
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], js)
        .into_response()
}

/// An HTML answer with the pages' security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The link's token is in the address: no page tells another site where it came from. (Not
    // `no-referrer`: under it a browser sends `Origin: null` even to the same site, which the
    // check of a posted form's origin must refuse.)
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A day as the pages write it: `8 december 2026`, `8 December 2026`.
fn day(us: i64, locale: Locale) -> String {
    const NL: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (y, m, d) = store::time::date_of(us);
    let names = if locale == Locale::Nl { NL } else { EN };
    format!("{d} {} {y}", names[usize::try_from(m).unwrap_or(1).clamp(1, 12) - 1])
}

/// The request's language: `?lang=`, else the invitation's, else Dutch.
fn locale_of(lang: &Lang, invitation: Option<&Invitation>) -> Locale {
    lang.lang
        .as_deref()
        .and_then(Locale::parse_request)
        .or_else(|| invitation.and_then(|i| Locale::parse_request(&i.created.locale)))
        .unwrap_or_default()
}

/// The path `path` in `locale` (the language travels in the query, so that it works without
/// cookies and survives every form).
fn localized(path: &str, locale: Locale) -> String {
    format!("{path}?lang={}", locale.tag())
}

fn other(locale: Locale) -> Locale {
    if locale == Locale::Nl { Locale::En } else { Locale::Nl }
}

impl Questionnaire {
    fn frame(&self, locale: Locale, title: String, firm: &str, here: &str) -> Frame {
        Frame {
            lang: locale.tag().to_string(),
            other_href: if here.is_empty() { String::new() } else { localized(here, other(locale)) },
            t: view::words(locale),
            title,
            firm_name: firm.to_string(),
        }
    }

    fn render(&self, status: StatusCode, template: &str, frame: &Frame, page: &impl Serialize) -> Response {
        match self.templates.render(template, frame, page) {
            Ok(body) => html(status, body),
            Err(e) => {
                tracing::error!(error = ?e, template, "a questionnaire page could not be rendered");
                (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
            }
        }
    }

    /// A page that only says something: `key_heading` and `key_text` of the words.
    fn notice(&self, status: StatusCode, locale: Locale, key: &str, values: &[(&str, String)], back: &str) -> Response {
        #[derive(Serialize)]
        struct Notice {
            heading: String,
            text: String,
            href: String,
        }
        let heading = view::word(locale, &format!("{key}_heading"), &[]);
        let page = Notice {
            text: view::word(locale, &format!("{key}_text"), values),
            href: back.to_string(),
            heading: heading.clone(),
        };
        self.render(status, "notice.html", &self.frame(locale, heading, "", ""), &page)
    }

    /// The invitation of `token` that still takes answers, with its model; else the page that says
    /// why not (an unknown link, one tried too often from `ip`, a withdrawn, expired or submitted
    /// one). The first visit is recorded (and `invitation.opened` sent).
    async fn open(
        &self,
        token: &str,
        ip: IpAddr,
        lang: &Lang,
        visit: bool,
    ) -> Result<(Invitation, Arc<Model>, Locale), Response> {
        if !self.guesses.allowed(ip) {
            let mut r = self.notice(StatusCode::TOO_MANY_REQUESTS, locale_of(lang, None), "slow", &[], "");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return Err(r);
        }
        let found = match invitations::by_token(&self.db, &crate::token_hash(token)).await {
            Ok(found) => found,
            Err(e) => return Err(self.unavailable(locale_of(lang, None), &e.to_string())),
        };
        let Some(invitation) = found else {
            self.guesses.failed(ip);
            return Err(self.notice(StatusCode::NOT_FOUND, locale_of(lang, None), "unknown", &[], ""));
        };
        let locale = locale_of(lang, Some(&invitation));
        let now = now_us();
        match invitation.state(now) {
            Stage::Revoked => return Err(self.notice(StatusCode::GONE, locale, "revoked", &[], "")),
            Stage::Expired => {
                let date = day(invitation.created.expires_at_us - 1, locale);
                return Err(self.notice(StatusCode::GONE, locale, "expired", &[("date", date)], ""));
            }
            Stage::Submitted => {
                let date = day(invitation.submitted_at_us.unwrap_or(now), locale);
                return Err(self.notice(StatusCode::OK, locale, "submitted", &[("date", date)], ""));
            }
            Stage::Sent if visit => self.opened(&invitation, now).await,
            Stage::Sent => {}
            Stage::Opened => {}
        }
        let c = &invitation.created;
        match self.registry.resolve(&c.model_id, c.model_version) {
            Ok(model) => Ok((invitation, model, locale)),
            Err(e) => Err(self.unavailable(locale, &e.to_string())),
        }
    }

    /// Records the first visit of `invitation` and its `invitation.opened` event, in one
    /// transaction; a failure is logged (the firm answers on regardless).
    async fn opened(&self, invitation: &Invitation, now: i64) {
        let c = &invitation.created;
        let recorded = async {
            let tx = store::begin_write(&self.db).await?;
            if invitations::mark_opened(&tx, &c.id, now).await? {
                // The invitation's id only: the event outlives an erasure of the firm's assessment.
                let data = serde_json::json!({"invitationId": c.id, "openedAt": store::time::rfc3339(now)});
                store::webhooks::record_event(&tx, &c.tenant, domain_webhooks::INVITATION_OPENED, data, now).await?;
            }
            store::commit(tx).await
        };
        match recorded.await {
            Ok(()) => self.wake.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, invitation = %c.id, "the first visit of an invitation was not recorded")
            }
        }
    }

    fn unavailable(&self, locale: Locale, why: &str) -> Response {
        tracing::warn!(error = why, "the questionnaire could not answer");
        self.notice(StatusCode::SERVICE_UNAVAILABLE, locale, "unavailable", &[], "")
    }
}

/// The CSRF token of the browser's cookie, if it carries a well-formed one.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == CSRF_COOKIE && value.len() == 32 && value.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        .map(|(_, value)| value.to_string())
}

/// The browser's CSRF token, or a new one with the `Set-Cookie` that gives it (`Secure` when the
/// public address is https).
fn csrf_token(headers: &HeaderMap, public_url: &str) -> (String, Option<HeaderValue>) {
    if let Some(token) = cookie_token(headers) {
        return (token, None);
    }
    let token = store::random::chars(32).unwrap_or_default();
    let secure = if public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!("{CSRF_COOKIE}={token}; Path=/q/; HttpOnly; SameSite=Strict{secure}");
    (token, HeaderValue::from_str(&cookie).ok())
}

fn with_cookie(mut r: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

/// Whether a posted form came from our own page: the form's token equals the cookie's, and the
/// browser does not say that another site sent it. The origin is compared with the address the
/// request was sent to (`Host` over HTTP/1.1, the URI's authority over HTTP/2) and with the
/// configured public address (a proxy in front may rewrite `Host`).
fn same_site(headers: &HeaderMap, uri: &axum::http::Uri, public_url: &str, form_token: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    if let Some(origin) = header("origin") {
        let authority = origin.split_once("://").map(|(_, a)| a);
        let ours = [
            header("host"),
            uri.authority().map(|a| a.as_str()),
            public_url.split_once("://").map(|(_, a)| a.split('/').next().unwrap_or(a)),
        ];
        if authority.is_none() || !ours.iter().flatten().any(|a| Some(*a) == authority) {
            return false;
        }
    }
    let Some(cookie) = cookie_token(headers) else { return false };
    !form_token.is_empty() && bool::from(cookie.as_bytes().ct_eq(form_token.as_bytes()))
}

/// The pages of a model, with their titles.
struct Pages {
    pages: Vec<Page>,
}

impl Pages {
    fn of(model: &Model) -> Pages {
        Pages { pages: questionnaire::pages(model) }
    }

    /// Page `number` (from 1).
    fn get(&self, number: &str) -> Option<(usize, &Page)> {
        let n: usize = number.parse().ok()?;
        Some((n, self.pages.get(n.checked_sub(1)?)?))
    }

    fn answered(page: &Page, model: &Model, draft: &BTreeMap<String, String>) -> usize {
        page.items.iter().filter(|&&i| draft.contains_key(&model.items[i].id)).count()
    }
}

#[derive(Serialize)]
struct PartView {
    title: String,
    answered_of: String,
}

#[derive(Serialize)]
struct StartView {
    how: String,
    expires: String,
    parts: Vec<PartView>,
    begin_href: String,
    begun: bool,
}

async fn start(
    State(q): State<Questionnaire>,
    Path(token): Path<String>,
    Query(lang): Query<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
) -> Response {
    // A HEAD (a mail scanner checking the link) is no visit.
    let (inv, model, locale) = match q.open(&token, peer.ip(), &lang, method != axum::http::Method::HEAD).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let pages = Pages::of(&model);
    let mut parts: Vec<(usize, usize, usize)> = Vec::new();
    for p in &pages.pages {
        let part = p.section.part();
        let answered = Pages::answered(p, &model, &inv.draft);
        match parts.iter_mut().find(|(k, _, _)| *k == part) {
            Some((_, a, t)) => (*a, *t) = (*a + answered, *t + p.items.len()),
            None => parts.push((part, answered, p.items.len())),
        }
    }
    let first_open =
        pages.pages.iter().position(|p| Pages::answered(p, &model, &inv.draft) < p.items.len()).unwrap_or(0);
    let base = format!("/q/{token}");
    let view = StartView {
        how: view::word(
            locale,
            "how",
            &[("items", model.items.len().to_string()), ("pages", pages.pages.len().to_string())],
        ),
        expires: view::word(locale, "expires", &[("date", day(inv.created.expires_at_us - 1, locale))]),
        parts: parts
            .iter()
            .map(|&(part, answered, total)| PartView {
                title: view::part_title(&model, part, locale),
                answered_of: view::word(
                    locale,
                    "answered_of",
                    &[("answered", answered.to_string()), ("total", total.to_string())],
                ),
            })
            .collect(),
        begin_href: localized(&format!("{base}/{}", first_open + 1), locale),
        begun: !inv.draft.is_empty(),
    };
    let title = view::word(locale, "site", &[]);
    q.render(StatusCode::OK, "start.html", &q.frame(locale, title, &inv.created.firm_name, &base), &view)
}

#[derive(Serialize)]
struct PageView {
    /// The start page, which says why a link no longer takes answers.
    start: String,
    part: String,
    title: String,
    about: String,
    page_of: String,
    answered_of: String,
    problems: Vec<Problem>,
    action: String,
    csrf: String,
    questions: Vec<Question>,
    number: usize,
    last: bool,
}

/// The HTML id of item `id`'s question.
fn anchor(id: &str) -> String {
    format!("q-{}", id.replace('.', "-"))
}

/// The questions of `page`, numbered on from `first_number`, with `values` checked and the
/// refusals of their items.
fn questions(
    model: &Model,
    page: &Page,
    values: &BTreeMap<String, String>,
    refused: &[Refusal],
    locale: Locale,
    first_number: usize,
) -> Vec<Question> {
    page.items
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let item = &model.items[i];
            let scale = model.scale_of(item);
            let chosen = values.get(&item.id);
            let mut choices: Vec<Choice> = scale
                .points
                .iter()
                .map(|p| Choice {
                    value: p.value.clone(),
                    label: p.label.get(locale).to_string(),
                    checked: chosen == Some(&p.value),
                })
                .collect();
            if scale.dont_know {
                choices.push(Choice {
                    value: form::DONT_KNOW.into(),
                    label: view::word(locale, "dont_know", &[]),
                    checked: chosen.is_some_and(|v| v == form::DONT_KNOW),
                });
            }
            let error = refused.iter().find(|r| r.item() == Some(item.id.as_str())).map(|r| r.message(locale));
            Question {
                id: item.id.clone(),
                field: format!("{}{}", form::ANSWER, item.id),
                anchor: anchor(&item.id),
                number: first_number + k + 1,
                text: item.text.get(locale).to_string(),
                help: item.help.as_ref().map(|h| h.get(locale).to_string()),
                choices,
                error,
            }
        })
        .collect()
}

/// Page `number` of `inv`'s questionnaire with `values` checked and `refused` shown.
#[allow(clippy::too_many_arguments, reason = "one page's parts, each named")]
fn page_view(
    model: &Model,
    pages: &Pages,
    number: usize,
    page: &Page,
    values: &BTreeMap<String, String>,
    refused: &[Refusal],
    locale: Locale,
    (token, csrf): (&str, String),
) -> PageView {
    let (title, about) = view::section_title(model, page.section, locale);
    let first_number: usize = pages.pages[..number - 1].iter().map(|p| p.items.len()).sum();
    let questions = questions(model, page, values, refused, locale, first_number);
    let problems = refused
        .iter()
        .map(|r| Problem {
            href: r
                .item()
                .filter(|id| page.items.iter().any(|&i| model.items[i].id == *id))
                .map_or_else(String::new, |id| format!("#{}", anchor(id))),
            message: r.message(locale),
        })
        .collect();
    let answered = pages.pages.iter().map(|p| Pages::answered(p, model, values)).sum::<usize>();
    PageView {
        start: localized(&format!("/q/{token}"), locale),
        part: view::part_title(model, page.section.part(), locale),
        title,
        about,
        page_of: view::word(
            locale,
            "page_of",
            &[("number", number.to_string()), ("count", pages.pages.len().to_string())],
        ),
        answered_of: view::word(
            locale,
            "answered_of",
            &[("answered", answered.to_string()), ("total", model.items.len().to_string())],
        ),
        problems,
        action: localized(&format!("/q/{token}/{number}"), locale),
        csrf,
        questions,
        number,
        last: number == pages.pages.len(),
    }
}

async fn page(
    State(q): State<Questionnaire>,
    Path((token, number)): Path<(String, String)>,
    Query(lang): Query<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (inv, model, locale) = match q.open(&token, peer.ip(), &lang, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let pages = Pages::of(&model);
    let Some((n, p)) = pages.get(&number) else {
        return see_other(&localized(&format!("/q/{token}"), locale));
    };
    let (csrf, cookie) = csrf_token(&headers, &q.public_url);
    let view = page_view(&model, &pages, n, p, &inv.draft, &[], locale, (&token, csrf));
    let frame = q.frame(locale, view.title.clone(), &inv.created.firm_name, &format!("/q/{token}/{n}"));
    with_cookie(q.render(StatusCode::OK, "page.html", &frame, &view), cookie)
}

/// The body of a form, or the page that refuses it for its size.
async fn body_of(q: &Questionnaire, body: axum::body::Body, locale: Locale) -> Result<Bytes, Response> {
    match tokio::time::timeout(BODY_TIME, axum::body::to_bytes(body, MAX_FORM)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(q.notice(StatusCode::PAYLOAD_TOO_LARGE, locale, "too_large", &[], "")),
        Err(_) => Err((StatusCode::REQUEST_TIMEOUT, "the form did not arrive in time").into_response()),
    }
}

async fn save(
    State(q): State<Questionnaire>,
    Path((token, number)): Path<(String, String)>,
    Query(lang): Query<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let (inv, model, locale) = match q.open(&token, peer.ip(), &lang, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let back = localized(&format!("/q/{token}"), locale);
    let body = match body_of(&q, body, locale).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let pages = Pages::of(&model);
    let Some((n, p)) = pages.get(&number) else {
        return q.notice(StatusCode::NOT_FOUND, locale, "unknown", &[], &back);
    };
    let empty = form::Posted { csrf: String::new(), go: Go::Stay, answers: Vec::new() };
    let posted = match form::read(&body) {
        Ok(posted) => posted,
        Err(refusal) => {
            return refuse_page(&q, (&inv, &empty), &model, &pages, (n, p), &[refusal], locale, &token, &headers);
        }
    };
    if !same_site(&headers, &uri, &q.public_url, &posted.csrf) {
        // The page again with what was posted and a valid token: pressing its button once more
        // saves (the usual cause is a cookie replaced by another tab of the same questionnaire).
        let refused = [Refusal::Stale];
        let mut r = refuse_page(&q, (&inv, &posted), &model, &pages, (n, p), &refused, locale, &token, &headers);
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let answers = match form::check(&model, &p.items, &posted) {
        Ok(a) => a,
        Err(refused) => {
            return refuse_page(&q, (&inv, &posted), &model, &pages, (n, p), &refused, locale, &token, &headers);
        }
    };
    if let Err(r) = q.merge(&inv, answers, locale, &token).await {
        return r;
    }
    // The page's script saves as the firm answers and needs no page back.
    if posted.go == Go::Stay && headers.get("x-autosave").is_some() {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    let target = match posted.go {
        Go::Previous => format!("/q/{token}/{}", n.saturating_sub(1).max(1)),
        Go::Next if n < pages.pages.len() => format!("/q/{token}/{}", n + 1),
        Go::Next | Go::Review => format!("/q/{token}/review"),
        Go::Stay => format!("/q/{token}/{n}"),
    };
    see_other(&localized(&target, locale))
}

/// The page again with what was refused (400): the saved answers, and over them those posted that
/// are on the item's scale (none is saved).
#[allow(clippy::too_many_arguments, reason = "one page's parts, each named")]
fn refuse_page(
    q: &Questionnaire,
    (inv, posted): (&Invitation, &form::Posted),
    model: &Model,
    pages: &Pages,
    (n, p): (usize, &Page),
    refused: &[Refusal],
    locale: Locale,
    token: &str,
    headers: &HeaderMap,
) -> Response {
    let (csrf, cookie) = csrf_token(headers, &q.public_url);
    let mut shown = inv.draft.clone();
    for (id, value) in &posted.answers {
        if model.item(id).is_some_and(|(i, _)| p.items.contains(&i) && form::on_scale(model, i, value)) {
            shown.insert(id.clone(), value.clone());
        }
    }
    let view = page_view(model, pages, n, p, &shown, refused, locale, (token, csrf));
    let frame = q.frame(locale, view.title.clone(), &inv.created.firm_name, &format!("/q/{token}/{n}"));
    with_cookie(q.render(StatusCode::BAD_REQUEST, "page.html", &frame, &view), cookie)
}

impl Questionnaire {
    /// Saves `answers` into `inv`'s draft, over the latest draft (another device may have saved a
    /// page meanwhile: its answers stay).
    async fn merge(
        &self,
        inv: &Invitation,
        answers: BTreeMap<String, String>,
        locale: Locale,
        token: &str,
    ) -> Result<(), Response> {
        let mut current = inv.clone();
        for _ in 0..5 {
            let mut draft = current.draft.clone();
            draft.extend(answers.clone());
            match invitations::save_draft(&self.db, &current.created.id, current.draft_version, &draft, now_us()).await
            {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(self.unavailable(locale, &e.to_string())),
            }
            current = match invitations::by_token(&self.db, &current.created.token_sha256).await {
                Ok(Some(i)) if matches!(i.state(now_us()), Stage::Opened | Stage::Sent) => i,
                // Submitted, withdrawn or expired meanwhile: the start page says which.
                Ok(_) => return Err(see_other(&localized(&format!("/q/{token}"), locale))),
                Err(e) => return Err(self.unavailable(locale, &e.to_string())),
            };
        }
        Err(self.unavailable(locale, "the draft kept changing while it was saved"))
    }
}

#[derive(Serialize)]
struct ReviewRow {
    number: usize,
    title: String,
    answered_of: String,
    href: String,
}

#[derive(Serialize)]
struct ReviewView {
    pages: Vec<ReviewRow>,
    problems: Vec<Problem>,
    action: String,
    csrf: String,
}

/// The submission of `inv`'s draft as `SubmitAssessment` takes it; the request id names the
/// invitation, so that a second submission replays the first.
fn submission(inv: &Invitation, model: &Model) -> pb::SubmitAssessmentRequest {
    let c = &inv.created;
    pb::SubmitAssessmentRequest {
        request_id: format!("invitation:{}", c.id),
        external_ref: c.external_ref.clone(),
        firm_name: c.firm_name.clone(),
        completed_at: None,
        assessment: Some(pb::ScoreAssessmentRequest {
            model: Some(pb::ModelRef { id: c.model_id.clone(), version: c.model_version }),
            firm: Some(pb::FirmAttributes {
                sbi_section: c.sbi_section.clone(),
                size_class: c.size_class.clone(),
                province: c.province.clone(),
            }),
            answers: inv.draft.iter().filter_map(|(id, v)| form::answer_pb(model, id, v)).collect(),
            locale: c.locale.clone(),
        }),
    }
}

/// What keeps `inv`'s draft from being submitted, by the same rules as `SubmitAssessment`
/// (`services_api::convert::score`), each with the page to go to when it names an item.
fn problems(
    q: &Questionnaire,
    inv: &Invitation,
    model: &Model,
    pages: &Pages,
    locale: Locale,
    token: &str,
) -> Vec<Problem> {
    let request = submission(inv, model).assessment.unwrap_or_default();
    let Err(violations) = services_api::convert::score(&q.registry, &request) else { return Vec::new() };
    violations
        .iter()
        .map(|v| {
            let item = v
                .field
                .strip_prefix("answers[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| request.answers.get(i))
                .map(|a| a.item_id.clone());
            let href = item
                .and_then(|id| model.item(&id).map(|(i, _)| i))
                .and_then(|i| pages.pages.iter().position(|p| p.items.contains(&i)))
                .map_or_else(String::new, |k| localized(&format!("/q/{token}/{}", k + 1), locale));
            Problem { href, message: if locale == Locale::Nl { v.nl.clone() } else { v.en.clone() } }
        })
        .collect()
}

fn review_view(
    inv: &Invitation,
    model: &Model,
    locale: Locale,
    token: &str,
    csrf: String,
    problems: Vec<Problem>,
) -> ReviewView {
    let pages = Pages::of(model);
    ReviewView {
        pages: pages
            .pages
            .iter()
            .enumerate()
            .map(|(k, p)| ReviewRow {
                number: k + 1,
                title: view::section_title(model, p.section, locale).0,
                answered_of: view::word(
                    locale,
                    "answered_of",
                    &[
                        ("answered", Pages::answered(p, model, &inv.draft).to_string()),
                        ("total", p.items.len().to_string()),
                    ],
                ),
                href: localized(&format!("/q/{token}/{}", k + 1), locale),
            })
            .collect(),
        problems,
        action: localized(&format!("/q/{token}/submit"), locale),
        csrf,
    }
}

async fn review(
    State(q): State<Questionnaire>,
    Path(token): Path<String>,
    Query(lang): Query<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (inv, model, locale) = match q.open(&token, peer.ip(), &lang, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (csrf, cookie) = csrf_token(&headers, &q.public_url);
    let problems = problems(&q, &inv, &model, &Pages::of(&model), locale, &token);
    let view = review_view(&inv, &model, locale, &token, csrf, problems);
    let title = view::word(locale, "review_heading", &[]);
    let frame = q.frame(locale, title, &inv.created.firm_name, &format!("/q/{token}/review"));
    with_cookie(q.render(StatusCode::OK, "review.html", &frame, &view), cookie)
}

async fn submit(
    State(q): State<Questionnaire>,
    Path(token): Path<String>,
    Query(lang): Query<Lang>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let (inv, model, locale) = match q.open(&token, peer.ip(), &lang, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let back = localized(&format!("/q/{token}"), locale);
    let body = match body_of(&q, body, locale).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let csrf = form::read(&body).map(|p| p.csrf).unwrap_or_default();
    if !same_site(&headers, &uri, &q.public_url, &csrf) {
        return q.notice(StatusCode::FORBIDDEN, locale, "csrf", &[], &back);
    }
    let pages = Pages::of(&model);
    let found = problems(&q, &inv, &model, &pages, locale, &token);
    if !found.is_empty() {
        let view = review_view(&inv, &model, locale, &token, csrf, found);
        let frame = q.frame(locale, view::word(locale, "review_heading", &[]), &inv.created.firm_name, "");
        return q.render(StatusCode::BAD_REQUEST, "review.html", &frame, &view);
    }
    // Stored and marked together, whatever becomes of this request: a browser that goes away
    // between the two would leave a stored assessment behind an invitation that takes answers.
    let submitting = tokio::spawn(submit_draft(q.clone(), inv.clone(), model));
    match submitting.await {
        Ok(Ok(())) => see_other(&back),
        Ok(Err(why)) => q.unavailable(locale, &why),
        Err(e) => q.unavailable(locale, &e.to_string()),
    }
}

/// Submits `inv`'s draft and records it as submitted. A submission of this invitation stored
/// before (its request id is the invitation's) with other answers (the draft changed after a
/// submission whose record was lost) is recorded with that assessment.
async fn submit_draft(q: Questionnaire, inv: Invitation, model: Arc<Model>) -> Result<(), String> {
    let c = &inv.created;
    let caller = Caller { tenant: c.tenant.clone(), key_prefix: c.id.clone() };
    let request = submission(&inv, &model);
    let request_id = request.request_id.clone();
    let id = match (q.submit)(caller, request).await {
        Ok(response) => response.assessment.map_or(0, |a| a.id),
        Err(status) if status.code() == tonic::Code::AlreadyExists => {
            let found = store::idempotency_many(&q.db, &[(c.tenant.as_str(), request_id.as_str())])
                .await
                .map_err(|e| e.to_string())?;
            found.into_values().find_map(|r| r.assessment_id).ok_or_else(|| status.message().to_string())?
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), invitation = %c.id, "a questionnaire's submission was refused");
            return Err(status.message().to_string());
        }
    };
    invitations::mark_submitted(&q.db, &c.id, id, now_us()).await.map_err(|e| e.to_string())
}
