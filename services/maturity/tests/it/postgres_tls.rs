//! PostgreSQL over TLS, as managed databases require it, on a PostgreSQL server each test starts
//! itself: its own `initdb` data folder and port, `ssl = on` with a certificate for `localhost`
//! from a CA made for the test. `verify-full` connects (the store and `maturity migrate`); a host
//! name the certificate does not name, or a CA the client does not trust, is refused; a client
//! certificate is accepted where the server asks for one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{BIN, scratch};

/// A CA made for one test, and certificates it signs.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A certificate for `names` (DNS names), or for the user `common_name` when `names` is empty;
    /// its PEM and its key's PEM.
    fn issue(&self, names: &[&str], common_name: &str) -> (String, String) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Where PostgreSQL's server programs are (`pg_config --bindir`, else Debian's folder).
fn pg_bin(program: &str) -> PathBuf {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
        let mut versions: Vec<PathBuf> = d.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.pop()
    });
    let found = [from_config, debian].into_iter().flatten().map(|dir| dir.join(program)).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("PostgreSQL's {program} is not installed (pg_config --bindir, /usr/lib/postgresql/*/bin)")
    })
}

/// Whether the tests run as root (`id -u` prints the effective user).
fn root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
fn as_server_user(program: &Path) -> Command {
    if root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL server of the test's own, stopped and removed when dropped.
struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    /// `initdb` in a folder of its own, then the server with `ssl = on`, the server certificate
    /// `server` (PEM, key PEM) and, for client certificates, the CA `client_ca` (PEM); the
    /// `pg_hba.conf` lines `hba` put before the trust lines `initdb` wrote.
    fn start(name: &str, server: &(String, String), client_ca: &str, hba: &str) -> Cluster {
        let dir = scratch(name);
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(dir.join("server.crt"), &server.0).unwrap();
        std::fs::write(dir.join("server.key"), &server.1).unwrap();
        std::fs::write(dir.join("client-ca.crt"), client_ca).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        if root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
            assert!(status.success(), "cannot give {} to the postgres user", dir.display());
        }
        let out = as_server_user(&pg_bin("initdb"))
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let hba_file = data.join("pg_hba.conf");
        let written = std::fs::read_to_string(&hba_file).unwrap();
        std::fs::write(&hba_file, format!("{hba}\n{written}")).unwrap();
        // A free port, found by binding it and letting it go; another test may take it in between,
        // so a start that fails is tried again on another.
        let mut started = None;
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let options = [
                format!("-p {port}"),
                "-c listen_addresses=127.0.0.1".into(),
                "-c fsync=off".into(),
                format!("-c unix_socket_directories={}", dir.display()),
                "-c ssl=on".into(),
                format!("-c ssl_cert_file={}", dir.join("server.crt").display()),
                format!("-c ssl_key_file={}", dir.join("server.key").display()),
                format!("-c ssl_ca_file={}", dir.join("client-ca.crt").display()),
            ]
            .join(" ");
            // pg_ctl starts the server in the background and waits until it accepts logins.
            let out = as_server_user(&pg_bin("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"])
                .output()
                .unwrap();
            started = Some((port, out));
            if started.as_ref().is_some_and(|(_, out)| out.status.success()) {
                break;
            }
        }
        let (port, out) = started.unwrap();
        let cluster = Cluster { dir, data, port };
        assert!(out.status.success(), "pg_ctl start: {}{}", String::from_utf8_lossy(&out.stderr), cluster.log());
        cluster
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// A file in the test's folder, written with `text`.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&pg_bin("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the store's connection to `url` is encrypted (PostgreSQL's own view of it).
async fn encrypted(url: &str) -> Result<bool, String> {
    use migrations::sea_orm::{ConnectionTrait, DbBackend, Statement};
    let db = store::open(url).await.map_err(|e| e.to_string())?;
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()".to_string();
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.map_err(|e| e.to_string())?;
    let ssl = row.map(|r| r.try_get::<bool>("", "ssl").unwrap()).unwrap_or(false);
    let _ = db.close().await;
    Ok(ssl)
}

fn localhost_cluster(name: &str, ca: &Ca, hba: &str) -> Cluster {
    let server = ca.issue(&["localhost"], "localhost");
    Cluster::start(name, &server, &ca.cert.pem(), hba)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_connects_to_a_postgresql_over_tls_and_migrate_runs_over_it() {
    let ca = Ca::new("maturity test CA");
    let cluster = localhost_cluster("pg-tls-verify", &ca, "");
    let root = cluster.file("ca.pem", &ca.cert.pem());
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        root.display()
    );
    assert_eq!(encrypted(&url).await, Ok(true), "{}", cluster.log());
    // The product over it: the schema applied by `maturity migrate` through the same URL.
    let key = cluster.dir.join("pseudonym.key");
    let out =
        Command::new(BIN).args(["migrate", "--database-url", &url, "--pseudonym-key-file"]).arg(&key).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = store::open(&url).await.unwrap();
    assert_eq!(migrations::state(&db).await.unwrap(), migrations::SchemaState::Current);
    // Without TLS the same server still answers (its pg_hba.conf allows both): what is asked for
    // is what the URL says.
    let plain = format!("postgres://postgres@localhost:{}/postgres?sslmode=disable", cluster.port);
    assert_eq!(encrypted(&plain).await, Ok(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let ca = Ca::new("maturity test CA");
    let cluster = localhost_cluster("pg-tls-host", &ca, "");
    let root = cluster.file("ca.pem", &ca.cert.pem());
    // The certificate names localhost only; 127.0.0.1 is the same server under another name.
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        root.display()
    );
    let err = encrypted(&url).await.expect_err("a host name the certificate does not name was accepted");
    assert!(err.contains("certificate") && err.to_lowercase().contains("name"), "{err}");
    // The driver's verify-ca checks the CA only, not the name: the same URL is accepted (which is
    // why the product's configuration refuses verify-ca).
    let url = url.replace("verify-full", "verify-ca");
    assert_eq!(encrypted(&url).await, Ok(true));
    // The program says so too, with the database's error, and exits 1.
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", &url.replace("verify-ca", "verify-full"), "--pseudonym-key-file"])
        .arg(cluster.dir.join("pseudonym.key"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("while opening the database") && err.contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_server_certificate_from_an_unknown_ca() {
    let ca = Ca::new("maturity test CA");
    let cluster = localhost_cluster("pg-tls-ca", &ca, "");
    let other = cluster.file("other-ca.pem", &Ca::new("another CA").cert.pem());
    for mode in ["verify-full", "verify-ca"] {
        let url = format!(
            "postgres://postgres@localhost:{}/postgres?sslmode={mode}&sslrootcert={}",
            cluster.port,
            other.display()
        );
        let err = encrypted(&url).await.expect_err("a certificate from an unknown CA was accepted");
        assert!(err.contains("UnknownIssuer") || err.to_lowercase().contains("unknown issuer"), "{mode}: {err}");
    }
    // require encrypts without checking the certificate (libpq's meaning, which sqlx keeps).
    let url = format!("postgres://postgres@localhost:{}/postgres?sslmode=require", cluster.port);
    assert_eq!(encrypted(&url).await, Ok(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_presented_where_the_server_asks_for_one() {
    let ca = Ca::new("maturity test CA");
    // The user `crm` logs in only over TLS with a certificate the CA signed for that name.
    let cluster =
        localhost_cluster("pg-tls-client", &ca, "hostssl all crm 127.0.0.1/32 cert\nhost all crm 127.0.0.1/32 reject");
    let root = cluster.file("ca.pem", &ca.cert.pem());
    let admin = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        root.display()
    );
    {
        use migrations::sea_orm::ConnectionTrait;
        let db = store::open(&admin).await.unwrap();
        db.execute_unprepared("CREATE ROLE crm LOGIN").await.unwrap();
    }
    let (cert, key) = ca.issue(&[], "crm");
    let cert = cluster.file("crm.crt", &cert);
    let key = cluster.file("crm.key", &key);
    let base = format!(
        "postgres://crm@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        root.display()
    );
    let without = encrypted(&base).await.expect_err("logged in without a client certificate");
    assert!(without.contains("requires a valid client certificate"), "{without}");
    let with = format!("{base}&sslcert={}&sslkey={}", cert.display(), key.display());
    assert_eq!(encrypted(&with).await, Ok(true), "{}", cluster.log());
}
