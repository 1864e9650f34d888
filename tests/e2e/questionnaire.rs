//! The questionnaire in the browser, as a firm and its consultancy's CRM meet it, on both
//! backends, over the real HTTP port and without JavaScript (every page is a form the server
//! answers): a CRM creates an invitation over JSON; the firm answers half the pages on one device,
//! finds its answers on a second (another cookie jar), finishes and submits; the CRM's webhook
//! receiver gets `invitation.opened` and `assessment.scored`, whose result is what GetAssessment
//! returns. Then the hostile forms, each refused with a page that says so and nothing stored.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use test_support::webhook_receiver::Receiver;
use test_support::{TestApp, spawn_app_on};

use crate::http::{Reply, exchange, keys, request};

/// A browser without JavaScript: a cookie jar and the headers a browser sends.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser { app, cookies: BTreeMap::new() }
    }

    fn send(&mut self, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers: Vec<(&str, &str)> = vec![("Accept", "text/html")];
        if !cookie.is_empty() {
            headers.push(("Cookie", &cookie));
        }
        headers.extend_from_slice(extra);
        let reply = tokio::task::block_in_place(|| exchange(self.app.http_addr, method, path, &headers, body));
        for line in reply.headers.lines().filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:")) {
            let pair = line.split_once(':').unwrap().1.trim().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_string(), v.to_string());
        }
        reply
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, &[], b"")
    }

    /// Posts `fields` as a form, as the browser sends a page's form (same origin).
    fn post(&mut self, path: &str, fields: &[(String, String)]) -> Reply {
        let body = form(fields);
        self.send(
            "POST",
            path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", "http://test"),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            body.as_bytes(),
        )
    }
}

fn form(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).to_string()
}

fn location(reply: &Reply) -> String {
    let line = reply.headers.lines().find(|l| l.to_ascii_lowercase().starts_with("location:")).expect("a Location");
    line.split_once(':').unwrap().1.trim().to_string()
}

/// The value of the page's hidden CSRF field.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// The questions of a page: each radio group's name with its values, in order.
fn questions(page: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for chunk in page.split("<input type=\"radio\" name=\"").skip(1) {
        let name = chunk.split('"').next().unwrap().to_string();
        let value = chunk.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => out.push((name, vec![value])),
        }
    }
    out
}

/// The checked value of each radio group of a page.
fn checked(page: &str) -> BTreeMap<String, String> {
    page.split("<input type=\"radio\" name=\"")
        .skip(1)
        .filter(|chunk| chunk.split('>').next().unwrap().contains(" checked"))
        .map(|chunk| {
            let name = chunk.split('"').next().unwrap().to_string();
            (name, chunk.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string())
        })
        .collect()
}

/// The answers a firm gives on a page: the middle point of each scale (never "don't know").
fn answers_of(page: &str) -> Vec<(String, String)> {
    questions(page)
        .into_iter()
        .map(|(name, values)| {
            let points: Vec<&String> = values.iter().filter(|v| *v != "dont_know").collect();
            (name, points[points.len() / 2].clone())
        })
        .collect()
}

fn post_json(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {key}");
    tokio::task::block_in_place(|| request(app, "POST", path, &[("Authorization", &auth)], body.to_string().as_bytes()))
}

fn get_json(app: &TestApp, path: &str, key: &str) -> Reply {
    let auth = format!("Bearer {key}");
    tokio::task::block_in_place(|| request(app, "GET", path, &[("Authorization", &auth)], b""))
}

/// A new invitation of the tenant of `key` over JSON: its id and its link's path.
fn invite(app: &TestApp, key: &str, extra: Value) -> (String, String) {
    let mut body = json!({
        "externalRef": "crm-4711",
        "firmName": "Synthetische Bouw B.V.",
        "firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"},
        "locale": "nl",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let reply = post_json(app, "/v1/invitations", key, &body);
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let created = reply.json();
    let url = created["url"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap();
    assert_eq!(url, format!("/q/{token}"), "without public_url a link is its path");
    assert_eq!(token.len(), 43);
    (created["invitation"]["id"].as_str().unwrap().to_string(), url)
}

fn invitation(app: &TestApp, key: &str, id: &str) -> Value {
    let reply = get_json(app, &format!("/v1/invitations/{id}"), key);
    assert_eq!(reply.status, 200, "{}", text(&reply));
    reply.json()
}

/// Answers page `n` of the questionnaire at `link` and goes on; the redirect's target.
fn answer_page(browser: &mut Browser<'_>, link: &str, n: usize) -> String {
    let page = browser.get(&format!("{link}/{n}"));
    assert_eq!(page.status, 200, "page {n}: {}", text(&page));
    let html = text(&page);
    let mut fields = vec![("csrf".to_string(), csrf_of(&html)), ("go".to_string(), "next".to_string())];
    fields.extend(answers_of(&html));
    let saved = browser.post(&format!("{link}/{n}"), &fields);
    assert_eq!(saved.status, 303, "page {n}: {}", text(&saved));
    location(&saved)
}

/// How many pages the questionnaire has, read from the first page ("Pagina 1 van N").
fn page_count(browser: &mut Browser<'_>, link: &str) -> usize {
    let html = text(&browser.get(&format!("{link}/1")));
    let at = html.find("Pagina 1 van ").expect("the page's position") + "Pagina 1 van ".len();
    html[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_from_the_crm_is_answered_on_two_devices_submitted_once_and_reported_by_webhook() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, b) = keys(&app).await;
        let recv = Receiver::start();
        let hook = post_json(
            &app,
            "/v1/webhookEndpoints",
            &a,
            &json!({"url": recv.url("/crm"), "eventTypes": ["invitation.opened", "assessment.scored"]}),
        );
        assert_eq!(hook.status, 200, "{}", text(&hook));
        recv.set_secrets(&[hook.json()["secret"].as_str().unwrap()]);

        let (id, link) = invite(&app, &a, json!({}));
        assert_eq!(invitation(&app, &a, &id)["state"], "INVITATION_STATE_SENT");
        assert_eq!(get_json(&app, &format!("/v1/invitations/{id}"), &b).status, 404, "another tenant's invitation");

        // The first device: the start page, then half the pages.
        let mut first = Browser::new(&app);
        let start = first.get(&link);
        assert_eq!(start.status, 200, "{backend:?}: {}", text(&start));
        let html = text(&start);
        assert!(html.contains("Synthetische Bouw B.V.") && html.contains("lang=\"nl\""), "{html}");
        assert!(start.headers.to_ascii_lowercase().contains("content-security-policy: default-src 'none'"));
        assert!(start.headers.to_ascii_lowercase().contains("referrer-policy: same-origin"));
        assert!(recv.wait_accepted(1, Duration::from_secs(30)), "{backend:?}: invitation.opened");
        let opened = recv.accepted()[0].json();
        assert_eq!(
            (opened["type"].as_str(), opened["data"]["invitationId"].as_str()),
            (Some("invitation.opened"), Some(id.as_str()))
        );
        first.get(&link);
        assert_eq!(invitation(&app, &a, &id)["state"], "INVITATION_STATE_OPENED");

        let pages = page_count(&mut first, &link);
        assert!(pages >= 8, "{pages} pages");
        let half = pages / 2;
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for n in 1..=half {
            let html = text(&first.get(&format!("{link}/{n}")));
            given.extend(answers_of(&html));
            let next = answer_page(&mut first, &link, n);
            assert_eq!(next, format!("{link}/{}?lang=nl", n + 1));
        }
        let answered = invitation(&app, &a, &id)["answered"].as_u64().unwrap() as usize;
        assert_eq!(answered, given.len(), "{backend:?}");

        // The second device, with the same link and no cookie of the first: the answers are there.
        let mut second = Browser::new(&app);
        let resumed = text(&second.get(&link));
        assert!(resumed.contains("Verder waar u was"), "{resumed}");
        let mut found = BTreeMap::new();
        for n in 1..=half {
            found.extend(checked(&text(&second.get(&format!("{link}/{n}")))));
        }
        assert_eq!(found, given, "{backend:?}: the second device sees what the first saved");
        // It finishes the rest.
        let mut everything = given.clone();
        for n in half + 1..=pages {
            everything.extend(answers_of(&text(&second.get(&format!("{link}/{n}")))));
            let next = answer_page(&mut second, &link, n);
            let expected =
                if n == pages { format!("{link}/review?lang=nl") } else { format!("{link}/{}?lang=nl", n + 1) };
            assert_eq!(next, expected);
        }
        // The review and the submission, in English this time.
        let review = second.get(&format!("{link}/review?lang=en"));
        let html = text(&review);
        assert_eq!(review.status, 200);
        assert!(
            html.contains("lang=\"en\"")
                && html.contains("Review and submit")
                && !html.contains("Before you can submit"),
            "{html}"
        );
        let submitted = second.post(&format!("{link}/submit?lang=en"), &[("csrf".into(), csrf_of(&html))]);
        assert_eq!(submitted.status, 303, "{backend:?}: {}", text(&submitted));
        let done = second.get(&location(&submitted));
        assert!(text(&done).contains("Your answers have been submitted"), "{}", text(&done));

        // The CRM hears of it, with the result GetAssessment returns.
        assert!(recv.wait_accepted(2, Duration::from_secs(30)), "{backend:?}: assessment.scored");
        let scored = recv.accepted()[1].json();
        assert_eq!(scored["type"], "assessment.scored");
        let assessment_id = scored["data"]["assessmentId"].as_str().unwrap().to_string();
        let stored = get_json(&app, &format!("/v1/assessments/{assessment_id}"), &a).json();
        assert_eq!(stored["externalRef"], "crm-4711");
        assert_eq!(stored["firmName"], "Synthetische Bouw B.V.");
        assert_eq!(scored["data"]["maturityIndex"], stored["result"]["maturityIndex"], "{stored}");
        assert_eq!(stored["answers"].as_array().unwrap().len(), everything.len(), "{backend:?}: every answer stored");
        let shown = invitation(&app, &a, &id);
        assert_eq!(shown["state"], "INVITATION_STATE_SUBMITTED");
        assert_eq!(shown["assessmentId"], assessment_id.as_str());

        // The link now says that the questionnaire is submitted, to either device.
        let again = first.get(&format!("{link}/1"));
        assert_eq!(again.status, 200);
        assert!(text(&again).contains("Uw antwoorden zijn verstuurd"), "{}", text(&again));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_expired_link_gets_a_page_that_says_so() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let mut browser = Browser::new(&app);

        let (id, link) = invite(&app, &a, json!({}));
        let html = text(&browser.get(&format!("{link}/1")));
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        fields.extend(answers_of(&html));
        assert_eq!(browser.post(&format!("{link}/1"), &fields).status, 303);
        let revoked = post_json(&app, &format!("/v1/invitations/{id}:revoke"), &a, &json!({}));
        assert_eq!(revoked.status, 200, "{}", text(&revoked));
        assert_eq!(revoked.json()["state"], "INVITATION_STATE_REVOKED");
        assert_eq!(revoked.json()["answered"], 0, "the draft goes with the revocation");
        for path in [link.clone(), format!("{link}/1"), format!("{link}/review")] {
            let page = browser.get(&path);
            assert_eq!(page.status, 410, "{backend:?} {path}");
            assert!(text(&page).contains("Deze link is ingetrokken"), "{}", text(&page));
        }
        let en = browser.get(&format!("{link}?lang=en"));
        assert!(text(&en).contains("This link has been withdrawn"), "{}", text(&en));
        let saved = browser.post(&format!("{link}/1"), &fields);
        assert_eq!(saved.status, 410, "{backend:?}: nothing is saved into a revoked invitation");

        let soon = store::time::rfc3339(store::time::now_us() + 1_500_000);
        let (_, link) = invite(&app, &a, json!({"expiresAt": soon}));
        assert_eq!(browser.get(&link).status, 200);
        std::thread::sleep(Duration::from_millis(1_600));
        let page = browser.get(&format!("{link}/1"));
        assert_eq!(page.status, 410, "{backend:?}");
        assert!(text(&page).contains("Deze link is verlopen"), "{}", text(&page));

        // A link of the past, or too far ahead, is refused at creation.
        for at in [store::time::now_us() - 1_000_000, store::time::now_us() + 91 * 24 * 3600 * 1_000_000] {
            let body = json!({"externalRef": "x", "firmName": "X", "firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}, "expiresAt": store::time::rfc3339(at)});
            let reply = post_json(&app, "/v1/invitations", &a, &body);
            assert_eq!(reply.status, 400, "{}", text(&reply));
            assert_eq!(reply.json()["violations"][0]["reason"], "EXPIRY_OUT_OF_RANGE");
        }
    }
}

/// A server with one invitation: the app, the tenant's key, the invitation's id and its link.
async fn opened(backend: migrations::test_db::Backend) -> (TestApp, String, String, String) {
    let app = spawn_app_on(backend).await;
    let (a, _) = keys(&app).await;
    let (id, link) = invite(&app, &a, json!({}));
    (app, a, id, link)
}

/// The draft's size as the API reports it.
fn answered(app: &TestApp, key: &str, id: &str) -> u64 {
    invitation(app, key, id)["answered"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_unknown_item_is_refused_and_nothing_is_stored() {
    for backend in BACKENDS {
        let (app, a, id, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let html = text(&browser.get(&format!("{link}/1")));
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        fields.extend(answers_of(&html));
        fields.push(("a.zz.invented".into(), "3".into()));
        let refused = browser.post(&format!("{link}/1"), &fields);
        assert_eq!(refused.status, 400, "{backend:?}");
        let page = text(&refused);
        assert!(
            page.contains("Niets van deze pagina is opgeslagen")
                && page.contains("een vraag die niet in de vragenlijst staat"),
            "{page}"
        );
        // An item of another page is refused too.
        let other = questions(&text(&browser.get(&format!("{link}/2"))))[0].clone();
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        fields.push((other.0.clone(), other.1[0].clone()));
        let refused = browser.post(&format!("{link}/1"), &fields);
        assert_eq!(refused.status, 400);
        assert!(text(&refused).contains("een vraag die niet op deze pagina staat"), "{}", text(&refused));
        assert_eq!(answered(&app, &a, &id), 0, "{backend:?}: nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_off_the_scale_is_refused_and_nothing_is_stored() {
    for backend in BACKENDS {
        let (app, a, id, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let html = text(&browser.get(&format!("{link}/1")));
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        let mut answers = answers_of(&html);
        let target = answers[0].0.clone();
        answers[0].1 = "9".into();
        fields.extend(answers);
        let refused = browser.post(&format!("{link}/1"), &fields);
        assert_eq!(refused.status, 400, "{backend:?}");
        let page = text(&refused);
        let anchor = format!("q-{}", target.trim_start_matches("a.").replace('.', "-"));
        assert!(page.contains("‘9’ is geen van de antwoorden"), "{page}");
        assert!(page.contains(&format!("href=\"#{anchor}\"")), "the summary links to the question: {page}");
        assert!(page.contains(&format!("aria-describedby=\"{anchor}-error\"")), "{page}");
        assert_eq!(answered(&app, &a, &id), 0, "{backend:?}: nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_or_from_another_site_is_refused() {
    for backend in BACKENDS {
        let (app, a, id, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let html = text(&browser.get(&format!("{link}/1")));
        let answers = answers_of(&html);
        let path = format!("{link}/1");
        // No token in the form.
        let refused = browser.post(&path, &answers);
        assert_eq!(refused.status, 403, "{backend:?}");
        let page = text(&refused);
        assert!(page.contains("het formulier was verlopen") && page.contains("name=\"csrf\""), "{page}");
        // The page shows what was posted, for pressing the button again.
        assert_eq!(checked(&page), answers.iter().cloned().collect::<BTreeMap<_, _>>(), "{backend:?}");
        // The form's token without the cookie (another browser's token).
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        fields.extend(answers.clone());
        let mut stranger = Browser::new(&app);
        assert_eq!(stranger.post(&path, &fields).status, 403, "{backend:?}: no cookie");
        // Cookie and token, but sent by another site.
        let body = form(&fields);
        for (name, value) in [("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")] {
            let reply = browser.send(
                "POST",
                &path,
                &[("Content-Type", "application/x-www-form-urlencoded"), (name, value)],
                body.as_bytes(),
            );
            assert_eq!(reply.status, 403, "{backend:?}: {name}");
        }
        assert_eq!(answered(&app, &a, &id), 0, "{backend:?}: nothing stored");
        // The same form from the page itself is saved; the page's script saves with `X-Autosave`
        // and gets no page back.
        let mut auto = fields.clone();
        auto.push(("go".into(), "stay".into()));
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Autosave", "1"),
            ("Sec-Fetch-Site", "same-origin"),
        ];
        let saved = browser.send("POST", &path, &headers, form(&auto).as_bytes());
        assert_eq!((saved.status, saved.body.len()), (204, 0), "{backend:?}");
        assert_eq!(answered(&app, &a, &id) as usize, answers.len());
        assert_eq!(browser.post(&path, &fields).status, 303);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_form_is_refused() {
    for backend in BACKENDS {
        let (app, a, id, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let html = text(&browser.get(&format!("{link}/1")));
        let mut fields = vec![("csrf".to_string(), csrf_of(&html))];
        fields.extend(answers_of(&html));
        fields.push(("padding".into(), "x".repeat(80 * 1024)));
        let refused = browser.post(&format!("{link}/1"), &fields);
        assert_eq!(refused.status, 413, "{backend:?}");
        assert!(text(&refused).contains("Het formulier is te groot"), "{}", text(&refused));
        assert_eq!(answered(&app, &a, &id), 0, "{backend:?}: nothing stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_submission_stores_one_assessment() {
    for backend in BACKENDS {
        let (app, a, id, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let pages = page_count(&mut browser, &link);
        // Submitting too early says what is missing, and stores nothing.
        let review = text(&browser.get(&format!("{link}/review")));
        assert!(review.contains("Voordat u uw antwoorden kunt versturen"), "{review}");
        let early = browser.post(&format!("{link}/submit"), &[("csrf".into(), csrf_of(&review))]);
        assert_eq!(early.status, 400, "{backend:?}");
        for n in 1..=pages {
            answer_page(&mut browser, &link, n);
        }
        let review = text(&browser.get(&format!("{link}/review")));
        let csrf = csrf_of(&review);
        let first = browser.post(&format!("{link}/submit"), &[("csrf".into(), csrf.clone())]);
        assert_eq!(first.status, 303, "{backend:?}: {}", text(&first));
        // The same form sent again (a double click, the back button): the submitted page, no second assessment.
        let replayed = browser.post(&format!("{link}/submit"), &[("csrf".into(), csrf)]);
        assert_eq!(replayed.status, 200, "{backend:?}");
        assert!(text(&replayed).contains("Uw antwoorden zijn verstuurd"));
        let listed = get_json(&app, "/v1/assessments", &a).json();
        assert_eq!(listed["assessments"].as_array().unwrap().len(), 1, "{backend:?}: {listed}");
        assert_eq!(invitation(&app, &a, &id)["assessmentId"], listed["assessments"][0]["id"]);
        // Nor is it answered again.
        let html = text(&browser.get(&format!("{link}/1")));
        assert!(!html.contains("type=\"radio\""), "{html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessed_token_is_refused_and_guessing_is_slowed() {
    for backend in BACKENDS {
        let (app, _, _, link) = opened(backend).await;
        let mut browser = Browser::new(&app);
        let guess = |n: usize| format!("/q/{n:0>43}");
        let first = browser.get(&guess(0));
        assert_eq!(first.status, 404, "{backend:?}");
        assert!(text(&first).contains("Deze link is niet bekend"), "{}", text(&first));
        let statuses: BTreeSet<u16> = (1..40).map(|n| browser.get(&guess(n)).status).collect();
        assert_eq!(statuses, BTreeSet::from([404, 429]), "{backend:?}: twenty guesses, then the limit");
        let limited = browser.get(&guess(41));
        assert_eq!(limited.status, 429);
        assert!(limited.headers.to_ascii_lowercase().contains("retry-after: 60"));
        assert!(text(&limited).contains("Te veel onbekende links"));
        // While limited, the address gets no answer about any link, a real one included.
        assert_eq!(browser.get(&link).status, 429, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assessment_answered_through_an_invitation_is_erased_with_its_invitation() {
    use crate::erasure::{contains, database_bytes};
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let body = json!({"externalRef": "crm-wis-93e1", "firmName": "Wisbaar Uitnodiging B.V.", "firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}});
        let reply = post_json(&app, "/v1/invitations", &a, &body);
        let (id, link) = (
            reply.json()["invitation"]["id"].as_str().unwrap().to_string(),
            reply.json()["url"].as_str().unwrap().to_string(),
        );
        let mut browser = Browser::new(&app);
        let pages = page_count(&mut browser, &link);
        for n in 1..=pages {
            answer_page(&mut browser, &link, n);
        }
        let review = text(&browser.get(&format!("{link}/review")));
        assert_eq!(browser.post(&format!("{link}/submit"), &[("csrf".into(), csrf_of(&review))]).status, 303);
        let assessment = invitation(&app, &a, &id)["assessmentId"].as_str().unwrap().to_string();
        let before = database_bytes(backend, &app.db_url);
        assert!(contains(&before, "Wisbaar Uitnodiging B.V.") && contains(&before, "crm-wis-93e1"), "{backend:?}");

        let deleted = get_json(&app, &format!("/v1/assessments/{assessment}"), &a);
        assert_eq!(deleted.status, 200);
        let auth = format!("Bearer {a}");
        let erased = tokio::task::block_in_place(|| {
            request(&app, "DELETE", &format!("/v1/assessments/{assessment}"), &[("Authorization", &auth)], b"")
        });
        assert_eq!(erased.status, 200, "{}", text(&erased));
        assert_eq!(
            get_json(&app, &format!("/v1/invitations/{id}"), &a).status,
            404,
            "{backend:?}: the invitation goes too"
        );
        let after = database_bytes(backend, &app.db_url);
        for gone in ["Wisbaar Uitnodiging B.V.", "crm-wis-93e1"] {
            assert!(!contains(&after, gone), "{backend:?}: `{gone}` is still in the database");
        }
        // The link now answers as an unknown one.
        assert_eq!(browser.get(&link).status, 404);
    }
}
