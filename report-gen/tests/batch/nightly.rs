//! The nightly batch as operators run it: the binary, against a database of each backend.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use migrations::sea_orm::{ConnectionTrait, DbBackend, Statement};
use migrations::test_db::{BACKENDS, Backend};
use store::webhooks;

use crate::{NIGHT, World, complete, files, report_gen, scratch, text_of};

/// (status, path) of every assessment, by id.
async fn statuses(world: &World) -> BTreeMap<i64, (String, Option<String>)> {
    let backend = if world.app.backend == Backend::Sqlite { DbBackend::Sqlite } else { DbBackend::Postgres };
    let rows = world
        .conn
        .query_all_raw(Statement::from_string(backend, "SELECT id, report_status, report_path FROM assessments"))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get::<i64>("", "id").unwrap(),
                (
                    r.try_get::<String>("", "report_status").unwrap(),
                    r.try_get::<Option<String>>("", "report_path").unwrap(),
                ),
            )
        })
        .collect()
}

fn nightly(world: &World, out: &std::path::Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = report_gen();
    cmd.args(["nightly", "--out"])
        .arg(out)
        .args(["--date", NIGHT, "--database-url", &world.app.db_url])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Every assessment has exactly one complete chapter at its place, nothing else is there (no
/// partial file), and every status says rendered with that path.
async fn assert_night_complete(world: &World, out: &std::path::Path, books: &[&str]) {
    let mut expected: Vec<String> =
        world.assessments.iter().map(|(t, id, _)| format!("{NIGHT}/{t}/{id}.pdf")).collect();
    expected.extend(books.iter().map(|t| format!("{NIGHT}/{t}/book.pdf")));
    expected.sort();
    assert_eq!(files(out), expected, "{:?}: files", world.app.backend);
    for (tenant, id, _) in &world.assessments {
        let pdf = std::fs::read(out.join(format!("{NIGHT}/{tenant}/{id}.pdf"))).unwrap();
        assert!(complete(&pdf), "{:?}: chapter {id} is not a complete PDF", world.app.backend);
    }
    let statuses = statuses(world).await;
    for (tenant, id, _) in &world.assessments {
        let (status, path) = &statuses[id];
        assert_eq!(status, "rendered", "{:?}: assessment {id}", world.app.backend);
        assert_eq!(path.as_deref(), Some(format!("{NIGHT}/{tenant}/{id}.pdf").as_str()));
    }
}

#[tokio::test]
async fn a_night_renders_every_chapter_once_and_a_rerun_renders_nothing() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme", "globex"], 3).await;
        let out = scratch("night");
        // Acme has a webhook endpoint for the batch's events (nothing delivers them in this test:
        // the outbox is what is checked).
        let types = [domain_webhooks::CHAPTER_READY.to_string(), domain_webhooks::BATCH_FINISHED.to_string()];
        let (endpoint, _) =
            webhooks::create_endpoint(&world.conn, "acme", "https://crm.example.nl/h", "", &types, 0).await.unwrap();
        let run = nightly(&world, &out, &["--jobs", "2", "--book"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{backend:?}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains("6 chapters written"), "{backend:?}: {stdout}");
        assert!(stdout.contains("peak memory"), "{backend:?}: {stdout}");
        assert_night_complete(&world, &out, &["acme", "globex"]).await;

        // A chapter read back: the firm, its peer group, n and the headings.
        let (tenant, id, name) = &world.assessments[0];
        let text = text_of(&std::fs::read(out.join(format!("{NIGHT}/{tenant}/{id}.pdf"))).unwrap());
        assert!(text.contains(name.as_str()), "{backend:?}: {text}");
        assert!(text.contains("Vergelijkingsgroep") && text.contains("n = "), "{backend:?}: {text}");
        for heading in
            ["De Nederlandse context", "Positie ten opzichte van branchegenoten", "Aanbevelingen", "Verantwoording"]
        {
            assert!(text.contains(heading), "{backend:?}: {heading} missing");
        }
        // The book holds the tenant's chapters in order, with a table of contents.
        let book = text_of(&std::fs::read(out.join(format!("{NIGHT}/acme/book.pdf"))).unwrap());
        assert!(book.contains("Inhoud"), "{backend:?}");
        let at: Vec<usize> = (0..3).map(|i| book.find(&format!("Firma acme {i}")).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{backend:?}: chapters out of order");
        assert!(!book.contains("Firma globex"), "{backend:?}: another tenant's chapter in the book");

        // Events, written with the statuses: a chapter.ready per chapter and one batch.finished
        // per tenant; deliveries queued for Acme's endpoint only.
        let check_events = || async {
            for tenant in ["acme", "globex"] {
                let ready = webhooks::events(&world.conn, tenant, Some(domain_webhooks::CHAPTER_READY), None, 100)
                    .await
                    .unwrap();
                let mut ids: Vec<String> = ready
                    .iter()
                    .map(|e| {
                        let v: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
                        assert_eq!(v["data"]["night"], NIGHT);
                        documented(domain_webhooks::CHAPTER_READY, &v["data"]);
                        v["data"]["assessmentId"].as_str().unwrap().to_string()
                    })
                    .collect();
                ids.sort();
                let mut mine: Vec<String> =
                    world.assessments.iter().filter(|a| a.0 == tenant).map(|a| a.1.to_string()).collect();
                mine.sort();
                assert_eq!(ids, mine, "{backend:?} {tenant}");
                let finished = webhooks::events(&world.conn, tenant, Some(domain_webhooks::BATCH_FINISHED), None, 100)
                    .await
                    .unwrap();
                assert_eq!(finished.len(), 1, "{backend:?} {tenant}");
                let v: serde_json::Value = serde_json::from_str(&finished[0].payload).unwrap();
                assert_eq!((v["data"]["rendered"].as_u64(), v["data"]["failed"].as_u64()), (Some(3), Some(0)));
                documented(domain_webhooks::BATCH_FINISHED, &v["data"]);
            }
            let queued = webhooks::deliveries(&world.conn, "acme", None, Some(&endpoint.id), None, 100).await.unwrap();
            assert_eq!(queued.len(), 4, "{backend:?}: 3 chapters and the batch");
            assert!(
                webhooks::deliveries(&world.conn, "globex", None, Some(&endpoint.id), None, 100)
                    .await
                    .unwrap()
                    .is_empty()
            );
        };
        check_events().await;

        // Re-running the same night renders only what is missing: nothing.
        let before: Vec<_> =
            files(&out).iter().map(|f| std::fs::metadata(out.join(f)).unwrap().modified().unwrap()).collect();
        let again = nightly(&world, &out, &["--jobs", "2"]).output().unwrap();
        assert!(again.status.success(), "{backend:?}");
        assert!(String::from_utf8_lossy(&again.stdout).contains(" 0 chapters written"), "{backend:?}");
        let after: Vec<_> =
            files(&out).iter().map(|f| std::fs::metadata(out.join(f)).unwrap().modified().unwrap()).collect();
        assert_eq!(before, after, "{backend:?}: a re-run touched files");
        // And announces nothing twice.
        check_events().await;
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// Kills `child` with SIGKILL (no chance to clean up).
fn sigkill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn sigkill_at_random_points_leaves_exactly_one_complete_chapter_each() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme", "globex", "initech"], 10).await;
        let out = scratch("kill");
        // A small deterministic generator for the kill points (no dependency for randomness).
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
        let mut kills = 0;
        let mut written_before_kill = Vec::new();
        // Kill runs at random points: after a random number of chapters (0-4) and a random
        // further delay (0-300 ms), so that kills land before, during and after writes.
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (chapters, delay) = (state % 5, Duration::from_millis((state >> 8) % 300));
            let mut child = nightly(&world, &out, &["--jobs", "2", "--lease-seconds", "1"]).spawn().unwrap();
            let log = watch(&mut child);
            let mut seen = 0;
            while seen < chapters && log.recv_timeout(Duration::from_secs(60)).is_ok() {
                seen += 1;
            }
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_none() {
                sigkill(&mut child);
                kills += 1;
            }
            written_before_kill.push(files(&out).iter().filter(|f| f.ends_with(".pdf")).count());
        }
        let last = nightly(&world, &out, &["--jobs", "2", "--lease-seconds", "1"]).output().unwrap();
        assert!(
            last.status.success(),
            "{backend:?}: {}\n{}",
            String::from_utf8_lossy(&last.stdout),
            String::from_utf8_lossy(&last.stderr)
        );
        assert!(kills >= 3, "{backend:?}: only {kills} runs were killed (the batch finished too fast to test)");
        eprintln!("{backend:?}: {kills} runs killed; chapters present after each: {written_before_kill:?}");
        assert_night_complete(&world, &out, &[]).await;
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// The chapters a run's summary says it wrote.
fn written(stdout: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stdout);
    let before = text.split(" chapters written").next().unwrap_or_default();
    before.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no summary in {text}"))
}

/// (id, lease expiry) of every assessment `worker` holds now.
async fn held_by(world: &World, worker: &str) -> BTreeMap<i64, i64> {
    let backend = if world.app.backend == Backend::Sqlite { DbBackend::Sqlite } else { DbBackend::Postgres };
    let sql = format!(
        "SELECT id, report_lease_until_us FROM assessments WHERE report_worker = '{worker}' AND report_lease_until_us IS NOT NULL"
    );
    let rows = world.conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
    rows.iter()
        .map(|r| (r.try_get::<i64>("", "id").unwrap(), r.try_get::<i64>("", "report_lease_until_us").unwrap()))
        .collect()
}

/// A worker renews the leases of the chapters it holds while it lives: the expiry of a chapter
/// it holds moves forward while the chapter waits in its hand (a lease of one second, renewed
/// four times a second), so that a chapter slower than a lease stays its own.
#[tokio::test]
async fn a_live_worker_renews_the_leases_of_the_chapters_it_holds() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme", "globex"], 12).await;
        let out = scratch("renew");
        let mut worker =
            nightly(&world, &out, &["--jobs", "1", "--lease-seconds", "1", "--worker", "a"]).spawn().unwrap();
        let mut first_seen: BTreeMap<i64, i64> = BTreeMap::new();
        let mut renewed = BTreeSet::new();
        while worker.try_wait().unwrap().is_none() {
            for (id, until) in held_by(&world, "a").await {
                let first = *first_seen.entry(id).or_insert(until);
                if until > first {
                    renewed.insert(id);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let done = worker.wait_with_output().unwrap();
        assert!(done.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&done.stderr));
        assert!(!first_seen.is_empty(), "{backend:?}: never saw a held chapter");
        assert!(!renewed.is_empty(), "{backend:?}: no lease of {} chapters held was renewed", first_seen.len());
        assert_night_complete(&world, &out, &[]).await;
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// A worker stopped (SIGSTOP) for longer than its lease loses its chapters to another worker,
/// which writes them; resumed, the stopped worker does not write them again: every chapter is
/// written once, and the resumed worker says which it left.
#[tokio::test]
async fn a_worker_stopped_longer_than_its_lease_does_not_write_what_another_took_over() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme"], 6).await;
        let out = scratch("stopped");
        let mut a = nightly(&world, &out, &["--jobs", "1", "--lease-seconds", "1", "--worker", "a"]).spawn().unwrap();
        // Stopped as soon as it holds chapters.
        let end = Instant::now() + Duration::from_secs(60);
        while held_by(&world, "a").await.is_empty() {
            assert!(Instant::now() < end && a.try_wait().unwrap().is_none(), "{backend:?}: worker a claimed nothing");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let pid = a.id().to_string();
        assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
        let held = held_by(&world, "a").await;
        // The other worker waits the lease out and writes everything, a's chapters included. (Had
        // a been stopped inside a write of its own, b would wait on it: bounded, and a resumed.)
        let mut b = nightly(&world, &out, &["--jobs", "1", "--lease-seconds", "1", "--worker", "b"]).spawn().unwrap();
        let end = Instant::now() + Duration::from_secs(120);
        while b.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                let _ = std::process::Command::new("kill").args(["-CONT", &pid]).status();
                let _ = b.kill();
                panic!("{backend:?}: worker b did not finish while a was stopped");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let b = b.wait_with_output().unwrap();
        assert!(b.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&b.stderr));
        assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
        let a = a.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&a.stderr);
        assert!(a.status.success(), "{backend:?}: {log}");
        let (by_a, by_b) = (written(&a.stdout), written(&b.stdout));
        assert_eq!(
            by_a + by_b,
            world.assessments.len(),
            "{backend:?}: a wrote {by_a}, b wrote {by_b}; a held {held:?}"
        );
        assert!(log.contains("took this chapter over"), "{backend:?}: {log}");
        assert_night_complete(&world, &out, &[]).await;
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// The night archives each chapter it writes (what the server then serves as sent) and removes
/// archived chapters older than `--chapter-retention-days`, and only those.
#[tokio::test]
async fn the_night_archives_its_chapters_and_removes_those_past_the_retention() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme"], 2).await;
        let out = scratch("retention");
        let (tenant, old_id, _) = &world.assessments[0];
        // A chapter archived 40 days ago, of an assessment rendered then.
        let forty_days_ago = store::time::now_us() - 40 * 86_400_000_000;
        store::archive::put(&world.conn, tenant, *old_id, "en", "2026-10-01", b"%PDF-old", forty_days_ago)
            .await
            .unwrap();
        let run = nightly(&world, &out, &["--chapter-retention-days", "30"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains("1 archived chapters older than 30 days removed"), "{backend:?}: {stdout}");
        assert_eq!(store::archive::stamp(&world.conn, tenant, *old_id, "en").await.unwrap(), None, "{backend:?}");
        for (tenant, id, _) in &world.assessments {
            let file = std::fs::read(out.join(format!("{NIGHT}/{tenant}/{id}.pdf"))).unwrap();
            let (stamp, archived) = store::archive::document(&world.conn, tenant, *id, "nl").await.unwrap().unwrap();
            assert!(archived == file, "{backend:?}: the archive is not the file written");
            assert_eq!(stamp.night, NIGHT, "{backend:?}");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[tokio::test]
async fn bad_usage_exits_64_and_an_unwritable_folder_stops_without_losing_work() {
    let out = scratch("usage");
    let bad = report_gen().args(["nightly", "--date", "2026-02-30", "--out"]).arg(&out).output().unwrap();
    assert_eq!(bad.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
    let bad = report_gen().args(["nightly", "--out", "x", "--jobs", "0"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(64));
    let bad = report_gen().args(["nightly"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(64), "a missing --out is bad usage");

    std::fs::remove_dir_all(&out).unwrap();

    // The night's folder cannot be created (a file is in the way): a clear error, exit 1, no
    // partial file, and the assessments still wait (no attempt counted against them).
    for backend in BACKENDS {
        let world = World::new(backend, &["acme"], 2).await;
        let out = scratch("blocked");
        std::fs::write(out.join(NIGHT), b"in the way").unwrap();
        let blocked = nightly(&world, &out, &[]).output().unwrap();
        assert_eq!(blocked.status.code(), Some(1), "{backend:?}");
        let stderr = String::from_utf8_lossy(&blocked.stderr);
        assert!(stderr.contains("STOPPED") && stderr.contains("cannot write"), "{backend:?}: {stderr}");
        assert_eq!(files(&out), [NIGHT.to_string()]);
        assert!(statuses(&world).await.values().all(|(s, _)| s == "pending"), "{backend:?}");
        // Once the way is clear, the next run does the work.
        std::fs::remove_file(out.join(NIGHT)).unwrap();
        let ok = nightly(&world, &out, &[]).output().unwrap();
        assert!(ok.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&ok.stderr));
        assert_night_complete(&world, &out, &[]).await;
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// The output disk fills up: every chapter's write fails part of the way through (a file size
/// limit, which the kernel enforces like a full disk: the write stops with an error). PostgreSQL
/// only, because the limit would also stop an SQLite database's own writes, which live on
/// another disk in production.
#[tokio::test]
async fn a_full_output_disk_stops_the_night_cleanly_and_the_next_run_resumes() {
    let world = World::new(Backend::Postgres, &["acme", "bolt"], 3).await;
    let out = scratch("full");
    let mut limited = std::process::Command::new("sh");
    let night = nightly(&world, &out, &["--jobs", "1"]);
    // SIGXFSZ ignored (inherited over exec), so that an oversized write returns EFBIG as a full
    // disk returns ENOSPC, instead of killing the process; then a 48 KiB limit per file.
    limited
        .args([
            "-c",
            "trap '' XFSZ; exec prlimit --fsize=49152:49152 \"$0\" \"$@\"",
            night.get_program().to_str().unwrap(),
        ])
        .args(night.get_args())
        .env_remove("DATABASE_URL")
        .env_remove("MATURITY_CONFIG")
        .env("RUST_LOG", "info");
    let full = limited.output().unwrap();
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("STOPPED") && stderr.contains("cannot write"), "{stderr}");
    assert!(stderr.contains("File too large"), "the write failed part of the way: {stderr}");
    // No chapter and no half-written temporary file is left; every assessment still waits, with
    // no failed attempt counted against it (the fault was the disk's, not the assessment's).
    assert_eq!(files(&out), Vec::<String>::new());
    assert!(statuses(&world).await.values().all(|(s, _)| s == "pending"));
    // Space again: the next run renders the whole night.
    let ok = nightly(&world, &out, &[]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_night_complete(&world, &out, &[]).await;
    std::fs::remove_dir_all(&out).unwrap();
}

/// Reads a worker's log lines as they come, collecting the ids it wrote.
fn watch(child: &mut Child) -> std::sync::mpsc::Receiver<i64> {
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("chapter written")
                && let Some(id) = line.split("id=").nth(1).and_then(|s| s.split_whitespace().next())
                && let Ok(id) = id.parse()
            {
                let _ = tx.send(id);
            }
        }
    });
    rx
}

#[tokio::test]
async fn three_workers_share_a_night_on_postgres_and_take_over_a_dead_ones_leases() {
    let world = World::new(Backend::Postgres, &["acme", "globex", "initech"], 8).await;
    let out = scratch("workers");
    let mut children: Vec<Child> = ["w1", "w2", "w3"]
        .iter()
        .map(|w| nightly(&world, &out, &["--jobs", "1", "--lease-seconds", "3", "--worker", w]).spawn().unwrap())
        .collect();
    let logs: Vec<_> = children.iter_mut().map(watch).collect();
    // Kill the first worker once it has written two chapters (it then holds claims it never ends).
    let mut by_worker: Vec<Vec<i64>> = vec![Vec::new(); 3];
    let started = Instant::now();
    while by_worker[0].len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(120), "worker 1 wrote nothing");
        if let Ok(id) = logs[0].recv_timeout(Duration::from_millis(100)) {
            by_worker[0].push(id);
        }
    }
    sigkill(&mut children[0]);
    for (i, child) in children.iter_mut().enumerate().skip(1) {
        let status = child.wait().unwrap();
        assert!(status.success(), "worker {} failed", i + 1);
    }
    for (i, log) in logs.iter().enumerate() {
        by_worker[i].extend(log.try_iter());
    }
    let all: Vec<i64> = by_worker.iter().flatten().copied().collect();
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    let expected: BTreeSet<i64> = world.assessments.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(all.len(), distinct.len(), "a chapter was written twice: {by_worker:?}");
    assert!(distinct.is_subset(&expected), "{by_worker:?}");
    // The survivors shared the rest, including what the dead worker had claimed (its leases
    // expired; files and statuses below show that nothing was forgotten).
    assert!(!by_worker[1].is_empty() && !by_worker[2].is_empty(), "{by_worker:?}");
    eprintln!("chapters per worker (w1 killed): {:?}", by_worker.iter().map(Vec::len).collect::<Vec<_>>());
    assert_night_complete(&world, &out, &[]).await;
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test]
async fn render_writes_one_chapter_as_pdf_or_typst_source_the_same_from_every_process() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme"], 1).await;
        let out = scratch("render");
        let (_, id, name) = &world.assessments[0];
        let render_pdf = |path: &std::path::Path| {
            let run = report_gen()
                .args(["render", "--assessment", &id.to_string(), "--lang", "en", "--out"])
                .arg(path)
                .args(["--database-url", &world.app.db_url])
                .output()
                .unwrap();
            assert!(run.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&run.stderr));
        };
        let pdf_path = out.join("chapter.pdf");
        render_pdf(&pdf_path);
        let text = text_of(&std::fs::read(&pdf_path).unwrap());
        for heading in ["The Dutch context", "Position among peers", "Recommendations", "Methodology", "References"] {
            assert!(text.contains(heading), "{backend:?}: {heading} missing");
        }
        assert!(text.contains(name.as_str()) && text.contains("Peer group"), "{backend:?}");
        // A second process writes the same file, byte for byte: nothing of the process (addresses,
        // hash seeds, thread timing) reaches the PDF.
        let again_path = out.join("again.pdf");
        render_pdf(&again_path);
        assert!(
            std::fs::read(&pdf_path).unwrap() == std::fs::read(&again_path).unwrap(),
            "{backend:?}: two processes wrote different PDFs of one chapter"
        );
        let typ_path = out.join("chapter.typ");
        let run = report_gen()
            .args(["render", "--assessment", &id.to_string(), "--format", "typ", "--out"])
            .arg(&typ_path)
            .args(["--database-url", &world.app.db_url])
            .output()
            .unwrap();
        assert!(run.status.success(), "{backend:?}");
        let source = std::fs::read_to_string(&typ_path).unwrap();
        assert!(source.contains("lang: \"nl\"") && source.contains(&format!("{name:?}")), "{backend:?}");
        // An unknown assessment is a clear error, exit 1.
        let missing = report_gen()
            .args(["render", "--assessment", "999999", "--out"])
            .arg(out.join("x.pdf"))
            .args(["--database-url", &world.app.db_url])
            .output()
            .unwrap();
        assert_eq!(missing.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no assessment 999999"));
        assert!(!out.join("x.pdf").exists());
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// The nightly batch renders firms whose names are written in other scripts or hold an emoji,
/// each chapter holding the name literally; none fails the night.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_night_renders_names_in_every_script() {
    use services_api::v1 as pb;
    use services_api::v1::persistence_service_server::PersistenceService;
    const NAMES: [&str; 5] = ["東京寿司 Amsterdam", "مطعم الأندلس", "Koffie ☕ Bar", "ООО Ромашка", "Şahin Gıda"];
    for backend in BACKENDS {
        let mut world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        for (i, name) in NAMES.iter().enumerate() {
            let req = pb::SubmitAssessmentRequest {
                request_id: format!("names-{i}"),
                external_ref: format!("names-{i}"),
                firm_name: (*name).into(),
                completed_at: Some(prost_types::Timestamp { seconds: 1_751_328_000, nanos: 0 }),
                assessment: Some(pb::ScoreAssessmentRequest {
                    model: None,
                    firm: Some(pb::FirmAttributes {
                        sbi_section: "I".into(),
                        size_class: "micro".into(),
                        province: "NL-NH".into(),
                    }),
                    answers: crate::answers(&model, i),
                    locale: String::new(),
                }),
            };
            let made = world.persistence.submit_assessment(crate::as_tenant("intl", req)).await.unwrap().into_inner();
            world.assessments.push(("intl".into(), made.assessment.unwrap().id, (*name).into()));
        }
        let out = scratch("names");
        let run = nightly(&world, &out, &["--jobs", "2"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{backend:?}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains("5 chapters written"), "{backend:?}: {stdout}");
        let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        for (tenant, id, name) in &world.assessments {
            let text = squeeze(&text_of(&std::fs::read(out.join(format!("{NIGHT}/{tenant}/{id}.pdf"))).unwrap()));
            if let Some(at) = text.find('\u{FFFD}') {
                let around: String = text[..at].chars().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
                panic!("{backend:?} {name}: a mark instead of a glyph after {around:?}");
            }
            if name.chars().any(|c| ('\u{0590}'..='\u{08FF}').contains(&c)) {
                assert!(name.chars().filter(|c| !c.is_whitespace()).all(|c| text.contains(c)), "{backend:?} {name}");
            } else {
                assert!(text.contains(&squeeze(name)), "{backend:?}: {name} not literal");
            }
        }
    }
}

/// An event's `data` has exactly the fields the OpenAPI document's `webhooks` section names, each of
/// the documented JSON type.
fn documented(event_type: &str, data: &serde_json::Value) {
    let schema = services_server::gateway::openapi::event_data_schema(event_type).expect("a documented event type");
    let properties = schema["properties"].as_object().unwrap();
    let fields = data.as_object().unwrap();
    let named: std::collections::BTreeSet<&String> = properties.keys().collect();
    let sent: std::collections::BTreeSet<&String> = fields.keys().collect();
    assert_eq!(named, sent, "{event_type}: documented fields differ from the event's");
    for (name, value) in fields {
        let ok = match properties[name]["type"].as_str().unwrap() {
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "object" => value.is_object(),
            other => panic!("{event_type}.{name}: type {other}"),
        };
        assert!(ok, "{event_type}.{name} = {value} is not a {}", properties[name]["type"]);
    }
}
