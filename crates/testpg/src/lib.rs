//! Throwaway PostgreSQL servers for tests and benchmarks.
//!
//! [`TestPostgres::start`] creates a fresh cluster with `initdb` in a temporary directory,
//! starts it on a free loopback port, and stops it (and removes the directory) when the
//! value is dropped. The superuser is [`USER`] with the password [`PASSWORD`]; TCP
//! connections use SCRAM authentication, so [`TestPostgres::url`] works for any client.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, `initdb`, `pg_ctl` and the
//! server run as the `postgres` OS user (created by the Debian `postgresql` package).

use std::ffi::{OsStr, OsString};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::{env, fs};

/// Password of the [`USER`] superuser of every [`TestPostgres`] cluster.
pub const PASSWORD: &str = "optisync-test-password";
/// Name of the superuser of every [`TestPostgres`] cluster (and the OS user used as root).
pub const USER: &str = "postgres";
/// Address the server listens on.
pub const HOST: &str = "127.0.0.1";

const START_ATTEMPTS: usize = 3;
const LOG_TAIL_LINES: usize = 30;
const INSTALL_HINT: &str = "install the `postgresql` package (`apt-get install postgresql`), \
     or set OPTISYNC_PG_BIN to the directory that holds initdb and pg_ctl";

/// Why a [`TestPostgres`] could not be started, or a `psql` call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `initdb` and `pg_ctl` were not found.
    #[error("PostgreSQL binaries (initdb, pg_ctl) not found in {searched}\nhint: {INSTALL_HINT}")]
    NotInstalled {
        /// The places that were searched.
        searched: String,
    },
    /// A step (a command or a file operation) failed.
    #[error(transparent)]
    Failed(Box<Failure>),
}

/// The details of an [`Error::Failed`] step.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} failed: {cause}\ncommand: {command}\nstderr:\n{stderr}\n\
     server log (last lines):\n{log}\nhint: {hint}"
)]
#[non_exhaustive]
pub struct Failure {
    /// Which step failed (`initdb`, `pg_ctl start`, `psql`, ...).
    pub what: String,
    /// The exit status, or the I/O error.
    pub cause: String,
    /// The command line that was run (empty for file operations).
    pub command: String,
    /// The command's standard error output.
    pub stderr: String,
    /// The last lines of the server log, if there is one.
    pub log: String,
    /// What to check or do about it.
    pub hint: String,
}

/// Running as root: the server programs run as the `postgres` OS user.
#[derive(Debug)]
struct AsPostgres {
    uid: u32,
    gid: u32,
    /// `runuser`, or `None` to use `su postgres -s /bin/sh -c`.
    runuser: Option<PathBuf>,
}

/// A running, throwaway PostgreSQL server; dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct TestPostgres {
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    bin_dir: PathBuf,
    psql: PathBuf,
    as_postgres: Option<AsPostgres>,
    port: u16,
}

impl TestPostgres {
    /// Creates a new cluster in a temporary directory and starts a server for it.
    pub fn start() -> Result<Self, Error> {
        let bin_dir = find_bin_dir()?;
        let psql = Some(bin_dir.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| which("psql"))
            .unwrap_or_else(|| PathBuf::from("psql"));
        let as_postgres = detect_root()?;
        let dir = tempfile::Builder::new()
            .prefix("optisync-testpg-")
            .tempdir()
            .map_err(|e| io_failure("creating a temporary directory", e))?;
        let data_dir = dir.path().join("data");
        let mut pg = TestPostgres {
            dir,
            data_dir,
            bin_dir,
            psql,
            as_postgres,
            port: 0,
        };
        pg.init()?;
        pg.start_server()?;
        Ok(pg)
    }

    /// The TCP port the server listens on (on [`HOST`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address the server listens on: always [`HOST`], `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The directory holding the PostgreSQL programs in use.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's data directory; the server log is the file `log` in it.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database`: `postgres://postgres:PASSWORD@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        let (password, database) = (percent_encode(PASSWORD), percent_encode(database));
        format!(
            "postgres://{USER}:{password}@{HOST}:{}/{database}",
            self.port
        )
    }

    /// Creates the database `name` (quoted as an identifier, so any name works).
    pub fn create_database(&self, name: &str) -> Result<(), Error> {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        self.psql("postgres", &sql).map(drop)
    }

    /// Runs `sql` with `psql -c` in `database`, stopping at the first error, and returns the
    /// unaligned, tuples-only (`-At`) output of the last statement without trailing newlines.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, Error> {
        self.run_psql(database, "-c", sql.as_ref())
    }

    /// Runs the SQL file at `path` with `psql -f` in `database`, like [`TestPostgres::psql`].
    pub fn psql_file(&self, database: &str, path: impl AsRef<Path>) -> Result<String, Error> {
        self.run_psql(database, "-f", path.as_ref().as_os_str())
    }

    /// A `psql` command connected to `database` (`-X -h 127.0.0.1 -p PORT -U postgres -d
    /// DATABASE`, with `PGPASSWORD` set) to which the caller adds its own arguments.
    pub fn psql_command(&self, database: &str) -> Command {
        let mut cmd = Command::new(&self.psql);
        cmd.args([
            "-X",
            "-h",
            HOST,
            "-p",
            &self.port.to_string(),
            "-U",
            USER,
            "-d",
            database,
        ])
        .env("PGPASSWORD", PASSWORD)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null());
        cmd
    }

    fn run_psql(&self, database: &str, flag: &str, value: &OsStr) -> Result<String, Error> {
        let mut cmd = self.psql_command(database);
        cmd.args(["-v", "ON_ERROR_STOP=1", "-q", "-At", flag])
            .arg(value);
        let out = self.run("psql", cmd, "the SQL failed or the server is unreachable")?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned())
    }

    fn init(&self) -> Result<(), Error> {
        let root = self.dir.path();
        if self.as_postgres.is_some() {
            // The `postgres` user must be able to traverse the (root-owned) temp dir.
            set_mode(root, 0o711)?;
        }
        self.make_owned_dir(&self.data_dir)?;
        self.make_owned_dir(&root.join("sock"))?;
        let pwfile = root.join("pwfile");
        fs::write(&pwfile, format!("{PASSWORD}\n")).map_err(|e| io_failure("writing pwfile", e))?;
        set_mode(&pwfile, 0o600)?;
        self.chown(&pwfile)?;
        let hint = "see initdb's stderr; as root, initdb runs as the `postgres` OS user, so every \
                    parent of the temporary directory must be traversable by it (try TMPDIR=/tmp)";
        for locale in ["--locale=C.UTF-8", "--no-locale"] {
            let mut args = vec![OsString::from("-D"), self.data_dir.clone().into()];
            args.extend(
                [
                    "-U",
                    USER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ]
                .map(Into::into),
            );
            args.extend(["-E", "UTF8", locale, "--no-sync"].map(Into::into));
            args.push(format!("--pwfile={}", pwfile.display()).into());
            match self.run("initdb", self.pg_command("initdb", &args), hint) {
                Ok(_) => break,
                Err(Error::Failed(f)) if locale != "--no-locale" && f.stderr.contains("locale") => {
                    // Start over in a clean data directory, without a locale.
                    fs::remove_dir_all(&self.data_dir)
                        .map_err(|e| io_failure("cleaning the data directory", e))?;
                    self.make_owned_dir(&self.data_dir)?;
                }
                Err(e) => return Err(e),
            }
        }
        fs::remove_file(&pwfile).map_err(|e| io_failure("removing pwfile", e))
    }

    fn start_server(&mut self) -> Result<(), Error> {
        let hint = "see the server log; common causes are a port taken by another process, \
                    shared memory limits, or the `postgres` user lacking access to the temp dir";
        let sock_dir = sh_quote(&self.dir.path().join("sock").to_string_lossy());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| io_failure("picking a free port on 127.0.0.1", e))?
                .port();
            let options = format!(
                "-p {port} -c listen_addresses={HOST} -k {sock_dir} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off"
            );
            let mut args = ["start", "-w", "-t", "60", "-D"]
                .map(OsString::from)
                .to_vec();
            args.extend([
                self.data_dir.clone().into(),
                "-l".into(),
                self.data_dir.join("log").into(),
            ]);
            args.extend(["-o".into(), options.into()]);
            match self.run("pg_ctl start", self.pg_command("pg_ctl", &args), hint) {
                Err(Error::Failed(f))
                    if attempt < START_ATTEMPTS && f.log.contains("Address already in use") => {}
                result => {
                    self.port = port;
                    return result.map(drop);
                }
            }
        }
    }

    /// A command running `program` from the bin dir, as the `postgres` user when root.
    fn pg_command(&self, program: &str, args: &[OsString]) -> Command {
        let program = self.bin_dir.join(program);
        let mut cmd = match &self.as_postgres {
            None => Command::new(&program),
            Some(AsPostgres {
                runuser: Some(runuser),
                ..
            }) => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", USER, "--"]).arg(&program);
                cmd
            }
            Some(AsPostgres { runuser: None, .. }) => {
                let mut line = sh_quote(&program.to_string_lossy());
                for arg in args {
                    line = format!("{line} {}", sh_quote(&arg.to_string_lossy()));
                }
                let mut cmd = Command::new("su");
                cmd.args([USER, "-s", "/bin/sh", "-c", &line]);
                cmd.current_dir(self.dir.path()).stdin(Stdio::null());
                return cmd;
            }
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, what: &str, mut cmd: Command, hint: &str) -> Result<Output, Error> {
        let command = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| sh_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let (cause, stderr) = match cmd.output() {
            Ok(out) if out.status.success() => return Ok(out),
            Ok(out) => (
                out.status.to_string(),
                String::from_utf8_lossy(&out.stderr).into(),
            ),
            Err(e) => (format!("could not run it: {e}"), String::new()),
        };
        let log = match fs::read_to_string(self.data_dir.join("log")) {
            Ok(log) => {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
            }
            Err(_) => "(no server log)".to_owned(),
        };
        let (what, hint, stderr) = (
            what.to_owned(),
            hint.to_owned(),
            stderr.trim_end().to_owned(),
        );
        Err(Error::Failed(Box::new(Failure {
            what,
            cause,
            command,
            stderr,
            log,
            hint,
        })))
    }

    fn chown(&self, path: &Path) -> Result<(), Error> {
        let Some(AsPostgres { uid, gid, .. }) = self.as_postgres else {
            return Ok(());
        };
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| io_failure(&format!("chown {}", path.display()), e))
    }

    fn make_owned_dir(&self, path: &Path) -> Result<(), Error> {
        fs::create_dir(path).map_err(|e| io_failure(&format!("mkdir {}", path.display()), e))?;
        set_mode(path, 0o700)?;
        self.chown(path)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let pid_file = self.data_dir.join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        let mut args = ["stop", "-m", "immediate", "-w", "-t", "30", "-D"]
            .map(OsString::from)
            .to_vec();
        args.push(self.data_dir.clone().into());
        let mut stop = self.pg_command("pg_ctl", &args);
        if stop
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return;
        }
        let pid = fs::read_to_string(&pid_file).ok();
        if let Some(pid) = pid
            .as_deref()
            .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        // The temporary directory is removed when `self.dir` is dropped, right after this.
    }
}

fn find_bin_dir() -> Result<PathBuf, Error> {
    let has_bins = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = env::var_os("OPTISYNC_PG_BIN").map(PathBuf::from) {
        let searched = format!("OPTISYNC_PG_BIN={}", dir.display());
        return if has_bins(&dir) {
            Ok(dir)
        } else {
            Err(Error::NotInstalled { searched })
        };
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin"))).filter(|(_, bin)| has_bins(bin))
        })
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        && out.status.success()
        && has_bins(&dir)
    {
        return Ok(dir);
    }
    if let Some(dir) = which("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && has_bins(&dir)
    {
        return Ok(dir);
    }
    let searched = "/usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH".to_owned();
    Err(Error::NotInstalled { searched })
}

/// `None` when not root; otherwise how to run programs as the `postgres` OS user.
fn detect_root() -> Result<Option<AsPostgres>, Error> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
        id.filter(|_| out.status.success())
    };
    if id(&["-u"]) != Some(0) {
        return Ok(None);
    }
    let (Some(uid), Some(gid)) = (id(&["-u", USER]), id(&["-g", USER])) else {
        return Err(Error::Failed(Box::new(Failure {
            what: "looking up the `postgres` OS user".to_owned(),
            cause: "no such user".to_owned(),
            command: format!("id -u {USER}"),
            stderr: String::new(),
            log: "(no server log)".to_owned(),
            hint: format!(
                "PostgreSQL refuses to run as root, so it runs as the `postgres` user: \
                 {INSTALL_HINT} (it creates that user), or run the tests as a non-root user"
            ),
        })));
    };
    let runuser = which("runuser").or_else(|| {
        ["/usr/sbin/runuser", "/sbin/runuser"]
            .map(PathBuf::from)
            .into_iter()
            .find(|p| p.is_file())
    });
    Ok(Some(AsPostgres { uid, gid, runuser }))
}

fn which(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_failure(&format!("chmod {mode:o} {}", path.display()), e))
}

fn io_failure(what: &str, e: std::io::Error) -> Error {
    Error::Failed(Box::new(Failure {
        what: what.to_owned(),
        cause: e.to_string(),
        command: String::new(),
        stderr: String::new(),
        log: "(no server log)".to_owned(),
        hint: "check that the temporary directory (TMPDIR) is writable".to_owned(),
    }))
}

/// Quotes `s` for a POSIX shell when needed.
fn sh_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    s.bytes()
        .map(|b| {
            if unreserved(b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_quotes() {
        assert_eq!(percent_encode("a b/c@d"), "a%20b%2Fc%40d");
        assert_eq!(percent_encode(PASSWORD), PASSWORD);
        assert_eq!(sh_quote("/tmp/x"), "/tmp/x");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
