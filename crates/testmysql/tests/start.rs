//! Starts real MariaDB servers.

use std::net::TcpStream;

use optisync_testmysql::{Error, HOST, PASSWORD, TestMysql};

#[test]
fn runs_sql_rejects_wrong_password_and_stops_on_drop() {
    let db = TestMysql::start().expect("start MariaDB");
    assert_eq!(db.host(), HOST);
    assert_eq!(
        db.url("t1"),
        format!("mysql://root:{PASSWORD}@127.0.0.1:{}/t1", db.port())
    );

    db.create_database("t1").expect("create database t1");
    let sum = db
        .sql(
            "t1",
            "create table x(a int, s varchar(10)); \
             insert into x values (1, 'é'), (2, 'b'); select sum(a) from x",
        )
        .expect("run SQL");
    assert_eq!(sum, "3");
    assert_eq!(
        db.sql("t1", "select a, s from x order by a")
            .expect("read rows"),
        "1\té\n2\tb"
    );

    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), "select count(*) from x;\n").expect("write script");
    assert_eq!(db.sql_file("t1", script.path()).expect("run file"), "2");

    match db.sql("t1", "select * from no_such_table") {
        Err(Error::Failed(f)) => assert!(f.stderr.contains("no_such_table"), "{f}"),
        other => panic!("expected a mariadb error, got {other:?}"),
    }

    // The right password over TCP: the account root@127.0.0.1.
    let right = db
        .client_command("t1")
        .args([
            "--skip-column-names",
            "--execute=select count(*), current_user() from x",
        ])
        .output()
        .expect("run mariadb");
    assert!(right.status.success(), "{right:?}");
    assert_eq!(
        String::from_utf8_lossy(&right.stdout),
        "2\troot@127.0.0.1\n"
    );

    let wrong = db
        .client_command("t1")
        .args(["--password=wrong", "--execute=select 1"])
        .output()
        .expect("run mariadb");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(stderr.contains("Access denied"), "{stderr}");

    // Its own tmpdir: servers sharing one delete each other's temporary tables.
    let dir = db.data_dir().parent().expect("temporary directory");
    let tmpdir = db.sql("", "select @@tmpdir").expect("read tmpdir");
    assert_eq!(tmpdir, dir.join("tmp").to_string_lossy());

    let port = db.port();
    let data_dir = db.data_dir().to_path_buf();
    assert!(TcpStream::connect((HOST, port)).is_ok());
    drop(db);
    assert!(
        TcpStream::connect((HOST, port)).is_err(),
        "server still listening"
    );
    assert!(!data_dir.exists(), "data directory not removed");
}

#[test]
fn two_servers_get_different_ports() {
    let a = TestMysql::start().expect("start first MariaDB");
    let b = TestMysql::start().expect("start second MariaDB");
    assert_ne!(a.port(), b.port());
    assert_eq!(a.sql("", "select 1").expect("query a"), "1");
    assert_eq!(b.sql("", "select 2").expect("query b"), "2");
}
