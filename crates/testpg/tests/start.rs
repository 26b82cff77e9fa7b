//! Starts real PostgreSQL servers.

use std::net::TcpStream;

use optisync_testpg::{Error, HOST, PASSWORD, TestPostgres};

#[test]
fn runs_sql_rejects_wrong_password_and_stops_on_drop() {
    let pg = TestPostgres::start().expect("start PostgreSQL");
    assert_eq!(pg.host(), HOST);
    assert_eq!(
        pg.url("t1"),
        format!("postgres://postgres:{PASSWORD}@127.0.0.1:{}/t1", pg.port())
    );

    pg.create_database("t1").expect("create database t1");
    let sum = pg
        .psql(
            "t1",
            "create table x(a int); insert into x values (1),(2); select sum(a) from x",
        )
        .expect("run SQL");
    assert_eq!(sum, "3");

    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), "select count(*) from x;\n").expect("write script");
    assert_eq!(pg.psql_file("t1", script.path()).expect("run file"), "2");

    match pg.psql("t1", "select * from no_such_table") {
        Err(Error::Failed(f)) => assert!(f.stderr.contains("no_such_table"), "{f}"),
        other => panic!("expected a psql error, got {other:?}"),
    }

    let wrong = pg
        .psql_command("t1")
        .env("PGPASSWORD", "wrong")
        .args(["-c", "select 1"])
        .output()
        .expect("run psql");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );

    let port = pg.port();
    let data_dir = pg.data_dir().to_path_buf();
    assert!(TcpStream::connect((HOST, port)).is_ok());
    drop(pg);
    assert!(
        TcpStream::connect((HOST, port)).is_err(),
        "server still listening"
    );
    assert!(!data_dir.exists(), "data directory not removed");
}

#[test]
fn two_servers_get_different_ports() {
    let a = TestPostgres::start().expect("start first PostgreSQL");
    let b = TestPostgres::start().expect("start second PostgreSQL");
    assert_ne!(a.port(), b.port());
    assert_eq!(a.psql("postgres", "select 1").expect("query a"), "1");
    assert_eq!(b.psql("postgres", "select 2").expect("query b"), "2");
}
