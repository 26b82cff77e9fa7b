//! Throwaway MariaDB servers for tests and benchmarks.
//!
//! [`TestMysql::start`] creates a fresh data directory with `mariadb-install-db` in a temporary
//! directory, starts `mariadbd` on a free loopback port, and stops it (and removes the
//! directory) when the value is dropped. The superuser is [`USER`] with the password
//! [`PASSWORD`], over TCP as well as over the server's Unix socket, so [`TestMysql::url`] works
//! for any MySQL client.
//!
//! The server is made to start fast and stay small: a 16 MiB buffer pool, no binary log, no
//! performance schema and no durability (nothing is flushed to disk on commit). Its character
//! set is `utf8mb4`, like Debian's packaged configuration (`--no-defaults` skips that
//! configuration, and the compiled-in default is `latin1`). It listens on [`HOST`] only, with
//! `skip-name-resolve`, so TCP clients are the account `root@127.0.0.1`.
//!
//! The programs (`mariadbd`, `mariadb-install-db`, `mariadb`) are looked up in PATH,
//! `/usr/sbin` and `/usr/bin`, or only in the directories listed (separated by `:`) in
//! `OPTISYNC_MARIADB_BIN_DIR` when it is set. When the tests run as root, the server runs as
//! root too (`--user=root`): MariaDB refuses root unless told so, but needs no other OS user.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use std::{env, thread};

/// Password of the [`USER`] superuser of every [`TestMysql`] server.
pub const PASSWORD: &str = "optisync-test-password";
/// Name of the superuser of every [`TestMysql`] server.
pub const USER: &str = "root";
/// Address the server listens on.
pub const HOST: &str = "127.0.0.1";

const BIN_DIR_VAR: &str = "OPTISYNC_MARIADB_BIN_DIR";
const SERVER: &str = "mariadbd";
const INSTALL_DB: &str = "mariadb-install-db";
const CLIENT: &str = "mariadb";
const START_ATTEMPTS: usize = 3;
const LOG_TAIL_LINES: usize = 30;
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const READY_POLL: Duration = Duration::from_millis(25);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const INSTALL_HINT: &str = "install Debian's `mariadb-server-core` and `mariadb-client-core` \
     packages (`apt-get install mariadb-server-core mariadb-client-core`; scripts/test does it), \
     or set OPTISYNC_MARIADB_BIN_DIR to the directories (separated by `:`) that hold mariadbd, \
     mariadb-install-db and mariadb";

/// Server options for both `mariadb-install-db` (its bootstrap server) and `mariadbd`: small,
/// fast to start, and not durable.
const SERVER_OPTIONS: &[&str] = &[
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=8M",
    "--innodb-temp-data-file-path=ibtmp1:1M:autoextend",
    // Simulated asynchronous I/O: io_uring and libaio need a locked-memory limit (ulimit -l)
    // that containers often lack.
    "--innodb-use-native-aio=0",
    "--innodb-doublewrite=0",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-buffer-pool-dump-at-shutdown=0",
    "--innodb-buffer-pool-load-at-startup=0",
    // Shut down without flushing anything: the data directory is deleted right after.
    "--innodb-fast-shutdown=3",
    "--skip-log-bin",
    "--performance-schema=OFF",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
];

/// Why a [`TestMysql`] could not be started, or a `mariadb` client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `mariadbd`, `mariadb-install-db` or `mariadb` was not found.
    #[error("MariaDB programs not found: {missing} (searched {searched})\nhint: {INSTALL_HINT}")]
    NotInstalled {
        /// The programs that were not found.
        missing: String,
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
    /// Which step failed (`mariadb-install-db`, `mariadbd`, `mariadb`, ...).
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

/// Where the MariaDB programs are.
#[derive(Debug)]
struct Programs {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
}

/// A running, throwaway MariaDB server; dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct TestMysql {
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    programs: Programs,
    /// Running as root: the server programs need `--user=root`.
    as_root: bool,
    port: u16,
    /// The `mariadbd` process, once started.
    server: Option<Child>,
}

impl TestMysql {
    /// Creates a new data directory in a temporary directory and starts a server for it.
    pub fn start() -> Result<Self, Error> {
        let programs = find_programs()?;
        let dir = tempfile::Builder::new()
            .prefix("optisync-testmysql-")
            .tempdir()
            .map_err(|e| io_failure("creating a temporary directory", e))?;
        let data_dir = dir.path().join("data");
        let mut db = TestMysql {
            dir,
            data_dir,
            programs,
            as_root: effective_uid() == Some(0),
            port: 0,
            server: None,
        };
        db.init()?;
        db.start_server()?;
        db.set_passwords()?;
        Ok(db)
    }

    /// The TCP port the server listens on (on [`HOST`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address the server listens on: always [`HOST`], `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The server's data directory; the server log is the file `server.log` in it.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database`: `mysql://root:PASSWORD@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        let (password, database) = (percent_encode(PASSWORD), percent_encode(database));
        format!("mysql://{USER}:{password}@{HOST}:{}/{database}", self.port)
    }

    /// Creates the database `name` (quoted as an identifier, so any name works).
    pub fn create_database(&self, name: &str) -> Result<(), Error> {
        let sql = format!("CREATE DATABASE `{}`", name.replace('`', "``"));
        self.sql("", &sql).map(drop)
    }

    /// Runs `sql` (one or more statements separated by `;`) with the `mariadb` client in
    /// `database` (none when empty), stopping at the first error, and returns the output of
    /// the statements that return rows, tab-separated without column names (`--batch
    /// --skip-column-names`), without trailing newlines.
    pub fn sql(&self, database: &str, sql: &str) -> Result<String, Error> {
        let mut execute = OsString::from("--execute=");
        execute.push(sql);
        let mut cmd = self.sql_command(database);
        cmd.arg(execute);
        self.run_sql(cmd)
    }

    /// Runs the SQL file at `path` in `database` (none when empty), like [`TestMysql::sql`].
    pub fn sql_file(&self, database: &str, path: impl AsRef<Path>) -> Result<String, Error> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| io_failure(&format!("opening {}", path.display()), e))?;
        let mut cmd = self.sql_command(database);
        cmd.stdin(file);
        self.run_sql(cmd)
    }

    /// A `mariadb` client command connected over TCP to `database` (none when empty) as
    /// [`USER`] with [`PASSWORD`] (`--no-defaults --protocol=TCP --host=127.0.0.1 --port=PORT
    /// --user=root --password=... --default-character-set=utf8mb4 --batch`), to which the
    /// caller adds its own arguments, such as `--execute=SQL`. A later `--password=...`
    /// replaces this one.
    pub fn client_command(&self, database: &str) -> Command {
        let mut cmd = Command::new(&self.programs.client);
        cmd.args([
            "--no-defaults",
            "--protocol=TCP",
            &format!("--host={HOST}"),
            &format!("--port={}", self.port),
            &format!("--user={USER}"),
            &format!("--password={PASSWORD}"),
            "--default-character-set=utf8mb4",
            "--connect-timeout=10",
            "--batch",
        ]);
        if !database.is_empty() {
            cmd.arg(format!("--database={database}"));
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// The server's own `tmpdir`: a server deletes every `#sql*` file in its `tmpdir` when it
    /// starts, so servers sharing one (the default, `/tmp`) delete each other's temporary
    /// tables.
    fn tmp_dir(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// `--user=root` when running as root, which `mariadbd` otherwise refuses.
    fn user_arg(&self) -> Option<&'static str> {
        self.as_root.then_some("--user=root")
    }

    /// A `mariadb` client command connected as [`USER`] over the server's Unix socket.
    fn socket_client(&self, with_password: bool) -> Command {
        let mut cmd = Command::new(&self.programs.client);
        cmd.arg("--no-defaults")
            .arg(os_arg("--socket=", &self.socket()))
            .args([
                "--protocol=SOCKET",
                &format!("--user={USER}"),
                "--default-character-set=utf8mb4",
                "--connect-timeout=10",
            ]);
        if with_password {
            cmd.arg(format!("--password={PASSWORD}"));
        }
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    fn sql_command(&self, database: &str) -> Command {
        let mut cmd = self.socket_client(true);
        cmd.args(["--batch", "--skip-column-names"]);
        if !database.is_empty() {
            cmd.arg(format!("--database={database}"));
        }
        cmd
    }

    fn run_sql(&self, cmd: Command) -> Result<String, Error> {
        let out = self.run(
            "mariadb",
            cmd,
            "the SQL failed or the server is unreachable",
        )?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim_end_matches('\n')
            .to_owned())
    }

    fn init(&self) -> Result<(), Error> {
        let hint = "see mariadb-install-db's stderr; it needs the SQL scripts of the \
                    `mariadb-server-core` package (in /usr/share/mariadb)";
        let tmp_dir = self.tmp_dir();
        fs::create_dir(&tmp_dir)
            .map_err(|e| io_failure(&format!("mkdir {}", tmp_dir.display()), e))?;
        let mut cmd = Command::new(&self.programs.install_db);
        cmd.arg("--no-defaults")
            .args(self.user_arg())
            .arg(os_arg("--datadir=", &self.data_dir))
            .arg(os_arg("--tmpdir=", &tmp_dir))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(SERVER_OPTIONS)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        self.run(INSTALL_DB, cmd, hint).map(drop)
    }

    fn start_server(&mut self) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| io_failure("picking a free port on 127.0.0.1", e))?
                .port();
            match self.spawn_server(port) {
                Err(Error::Failed(f))
                    if attempt < START_ATTEMPTS && f.log.contains("Address already in use") => {}
                result => {
                    self.port = port;
                    return result;
                }
            }
        }
    }

    /// Starts `mariadbd` on `port` and waits until it accepts connections; on failure, no
    /// server is left running.
    fn spawn_server(&mut self, port: u16) -> Result<(), Error> {
        let hint = "see the server log; common causes are a port taken by another process, \
                    a temporary directory whose path makes the socket path longer than 107 \
                    bytes (try TMPDIR=/tmp), or too little memory";
        let log_path = self.log_path();
        // A fresh log for each attempt, so an earlier attempt's errors are not taken for its.
        let _ = fs::remove_file(&log_path);
        // The server's own stderr (before it opens the log) goes to the log too.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io_failure("creating the server log", e))?;
        let mut cmd = Command::new(&self.programs.server);
        cmd.arg("--no-defaults")
            .args(self.user_arg())
            .arg(os_arg("--datadir=", &self.data_dir))
            .arg(os_arg("--tmpdir=", &self.tmp_dir()))
            .arg(os_arg("--socket=", &self.socket()))
            .arg(format!("--port={port}"))
            .arg(format!("--bind-address={HOST}"))
            .arg("--skip-name-resolve")
            .arg(os_arg("--log-error=", &log_path))
            .arg(os_arg("--pid-file=", &self.dir.path().join("mariadbd.pid")))
            .args(SERVER_OPTIONS)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let command = command_line(&cmd);
        match cmd.spawn() {
            Ok(child) => self.server = Some(child),
            Err(e) => {
                let cause = format!("could not run it: {e}");
                return Err(self.failure(SERVER, cause, command, String::new(), hint));
            }
        }
        let result = self.wait_ready(command, hint);
        if result.is_err()
            && let Some(mut child) = self.server.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        result
    }

    /// Polls the server's socket with the `mariadb` client until it answers, the server
    /// exits, or [`READY_TIMEOUT`] passes.
    fn wait_ready(&mut self, command: String, hint: &str) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let cause = format!("it exited before accepting connections ({status})");
                return Err(self.failure(SERVER, cause, command, String::new(), hint));
            }
            let mut ping = self.socket_client(false);
            ping.arg("--execute=select 1");
            let stderr = match ping.output() {
                Ok(out) if out.status.success() => return Ok(()),
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
                Err(e) => {
                    let cause = format!("could not run the client to check it: {e}");
                    return Err(self.failure(
                        CLIENT,
                        cause,
                        command_line(&ping),
                        String::new(),
                        hint,
                    ));
                }
            };
            if Instant::now() >= deadline {
                let cause = format!(
                    "it accepted no connection on its socket within {} s (the last \
                     attempt's stderr is below)",
                    READY_TIMEOUT.as_secs()
                );
                return Err(self.failure(SERVER, cause, command, stderr, hint));
            }
            thread::sleep(READY_POLL);
        }
    }

    /// Gives `root` the [`PASSWORD`] for local connections and creates it for TCP ones
    /// (`root@127.0.0.1` with `skip-name-resolve`, `root@::1` and `root@%`).
    fn set_passwords(&self) -> Result<(), Error> {
        let password = format!("'{}'", PASSWORD.replace('\\', "\\\\").replace('\'', "''"));
        let mut sql = format!("ALTER USER '{USER}'@'localhost' IDENTIFIED BY {password};");
        for host in ["127.0.0.1", "::1", "%"] {
            sql.push_str(&format!(
                " CREATE OR REPLACE USER '{USER}'@'{host}' IDENTIFIED BY {password}; \
                 GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'{host}' WITH GRANT OPTION;"
            ));
        }
        let mut cmd = self.socket_client(false);
        cmd.arg(format!("--execute={sql}"));
        let hint = "see the client's stderr and the server log";
        self.run("setting the root password", cmd, hint).map(drop)
    }

    fn run(&self, what: &str, mut cmd: Command, hint: &str) -> Result<Output, Error> {
        let command = command_line(&cmd);
        let (cause, stderr) = match cmd.output() {
            Ok(out) if out.status.success() => return Ok(out),
            Ok(out) => (
                out.status.to_string(),
                String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
            ),
            Err(e) => (format!("could not run it: {e}"), String::new()),
        };
        Err(self.failure(what, cause, command, stderr, hint))
    }

    /// An [`Error::Failed`] with the last lines of the server log.
    fn failure(
        &self,
        what: &str,
        cause: String,
        command: String,
        stderr: String,
        hint: &str,
    ) -> Error {
        let log = match fs::read_to_string(self.log_path()) {
            Ok(log) => {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
            }
            Err(_) => "(no server log)".to_owned(),
        };
        Error::Failed(Box::new(Failure {
            what: what.to_owned(),
            cause,
            command,
            stderr,
            log,
            hint: hint.to_owned(),
        }))
    }
}

impl Drop for TestMysql {
    fn drop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        let shut_down = self
            .socket_client(true)
            .arg("--execute=SHUTDOWN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !shut_down {
            let _ = child.kill();
        }
        // Wait for the process to exit, so its port and files are free; kill it if it takes
        // too long. The pid stays the server's until `wait` reaps it, so `kill` is safe.
        let pid = child.id().to_string();
        let (exited, exit) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let _ = child.wait();
            let _ = exited.send(());
        });
        if exit.recv_timeout(STOP_TIMEOUT).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid])
                .stderr(Stdio::null())
                .status();
        }
        let _ = waiter.join();
        // The temporary directory is removed when `self.dir` is dropped, right after this.
    }
}

fn find_programs() -> Result<Programs, Error> {
    let (dirs, searched): (Vec<PathBuf>, String) =
        match env::var_os(BIN_DIR_VAR).filter(|v| !v.is_empty()) {
            Some(value) => (
                env::split_paths(&value).collect(),
                format!("{BIN_DIR_VAR}={}", value.to_string_lossy()),
            ),
            None => {
                let mut dirs: Vec<PathBuf> = env::var_os("PATH")
                    .map(|path| env::split_paths(&path).collect())
                    .unwrap_or_default();
                dirs.extend(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
                (dirs, "PATH, /usr/sbin and /usr/bin".to_owned())
            }
        };
    let find = |name: &str| {
        let path = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())?;
        // Absolute, as the programs run in the temporary directory.
        std::path::absolute(&path).ok()
    };
    let names = [SERVER, INSTALL_DB, CLIENT];
    match names.map(find) {
        [Some(server), Some(install_db), Some(client)] => Ok(Programs {
            server,
            install_db,
            client,
        }),
        found => {
            let missing = names
                .iter()
                .zip(&found)
                .filter(|(_, path)| path.is_none())
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ");
            Err(Error::NotInstalled { missing, searched })
        }
    }
}

/// The effective user id, from `/proc/self/status` or else `id -u`.
fn effective_uid() -> Option<u32> {
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| euid_from_status(&status));
    from_proc.or_else(|| {
        let out = Command::new("id")
            .arg("-u")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().parse().ok();
        id.filter(|_| out.status.success())
    })
}

/// The effective uid in a `/proc/PID/status` text: the second number of its `Uid:` line.
fn euid_from_status(status: &str) -> Option<u32> {
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

/// `--option=` followed by a path, which may not be UTF-8.
fn os_arg(option: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(option);
    arg.push(path);
    arg
}

/// The command line of `cmd`, quoted for a shell.
fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a: &OsStr| sh_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
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
        assert_eq!(
            os_arg("--datadir=", Path::new("/tmp/d")),
            OsString::from("--datadir=/tmp/d")
        );
    }

    #[test]
    fn reads_the_effective_uid() {
        let status = "Name:\tx\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n";
        assert_eq!(euid_from_status(status), Some(0));
        assert_eq!(euid_from_status("Name:\tx\n"), None);
    }
}
