//! The `connwatch` binary from the outside: exit codes, error messages,
//! input edge cases (missing, empty, non-capture, truncated files, stdin),
//! configuration errors, `--logdir` and `--json`.
//!
//! Exit codes: 0 success, 1 input problems (a truncated file still writes
//! the log of what was read), 2 usage and configuration errors.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use connwatch_tracegen::time::ms;
use connwatch_tracegen::{Scenario, DEFAULT_START};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

// ----------------------------------------------------------------- helpers

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("connwatch-cli-{}-{n}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn connwatch(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connwatch"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run connwatch")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status; stderr:\n{}",
        stderr(out)
    );
}

/// The conformance suite folder (see tests/conformance.rs).
fn suite_dir() -> PathBuf {
    match std::env::var_os("CONNWATCH_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/zeek"),
    }
}

/// A conformance trace; `None` (test skipped) only when the suite is
/// missing and `CONNWATCH_SKIP_CONFORMANCE=1`.
fn conformance_trace(case: &str) -> Option<PathBuf> {
    let dir = suite_dir().join(case);
    for name in ["trace.pcap", "trace.pcapng"] {
        if dir.join(name).is_file() {
            return Some(dir.join(name));
        }
    }
    if std::env::var("CONNWATCH_SKIP_CONFORMANCE").as_deref() == Ok("1") {
        eprintln!("conformance case {case} not found: skipped");
        return None;
    }
    panic!(
        "conformance trace {} not found (set CONNWATCH_CONFORMANCE_DIR or CONNWATCH_SKIP_CONFORMANCE=1)",
        dir.display()
    );
}

/// A small generated trace: TCP, UDP and ICMP flows.
fn small_trace(path: &Path) {
    let s = Scenario::new(DEFAULT_START);
    s.tcp("10.0.0.1:40000", "10.0.0.2:80")
        .handshake(0)
        .send_orig(ms(10), 300)
        .send_resp(ms(20), 5000)
        .close_fin(ms(40));
    s.udp("10.0.0.1:5353", "8.8.8.8:53")
        .request_reply(ms(5), 40, 120);
    s.ping("10.0.0.3", "10.0.0.4", 9).echo(ms(7), 1, 56);
    s.write_pcap(path).expect("write trace");
}

/// A log without its `#open`/`#close` lines (wall-clock times).
fn without_stamps(log: &str) -> String {
    log.lines()
        .filter(|l| !l.starts_with("#open\t") && !l.starts_with("#close\t"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ------------------------------------------------------------ bad inputs

#[test]
fn missing_file_is_a_one_line_error_naming_it() {
    let tmp = TempDir::new("missing");
    let out = connwatch(&["-r", "no-such-trace.pcap", "--logdir", "logs"], &tmp.0);
    assert_ne!(out.status.code(), Some(0));
    assert!(out.status.code().is_some(), "killed by a signal");
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("no-such-trace.pcap"), "{err}");
    assert!(!tmp.path("logs/conn.log").exists());
}

#[test]
fn text_file_is_rejected_clearly() {
    let tmp = TempDir::new("text");
    std::fs::write(tmp.path("notes.txt"), "hello, this is not a capture\n").unwrap();
    let out = connwatch(&["-r", "notes.txt", "--logdir", "logs"], &tmp.0);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("notes.txt"), "{err}");
    assert!(err.contains("pcap"), "says what was expected: {err}");
    assert!(!tmp.path("logs/conn.log").exists());
}

#[test]
fn empty_file_is_rejected() {
    let tmp = TempDir::new("empty");
    std::fs::write(tmp.path("empty.pcap"), b"").unwrap();
    let out = connwatch(&["-r", "empty.pcap", "--logdir", "logs"], &tmp.0);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("empty.pcap"), "{err}");
    assert!(err.contains("empty"), "{err}");
    assert!(!tmp.path("logs/conn.log").exists());
}

/// Offsets of the records of a classic pcap file: (start, total length).
fn pcap_records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let le = match bytes[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("not a classic pcap file"),
    };
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let f = [bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]];
        let incl = if le {
            u32::from_le_bytes(f)
        } else {
            u32::from_be_bytes(f)
        } as usize;
        out.push((at, 16 + incl));
        at += 16 + incl;
    }
    assert_eq!(at, bytes.len(), "trailing bytes in the pcap");
    out
}

#[test]
fn truncated_pcap_writes_what_was_read_and_fails() {
    let Some(trace) = conformance_trace("wikipedia-mixed") else {
        return;
    };
    let bytes = std::fs::read(&trace).unwrap();
    let records = pcap_records(&bytes);
    assert!(records.len() > 20);
    let (start, len) = records[records.len() / 2];
    let tmp = TempDir::new("truncated");
    // The clean prefix: every record before the cut one.
    std::fs::write(tmp.path("prefix.pcap"), &bytes[..start]).unwrap();
    // Cut inside a record's data, and inside a record header.
    std::fs::write(
        tmp.path("cut-data.pcap"),
        &bytes[..start + 16 + (len - 16) / 2],
    )
    .unwrap();
    std::fs::write(tmp.path("cut-header.pcap"), &bytes[..start + 7]).unwrap();

    let seed = ["--set", "track.uid_seed=1"];
    let out = connwatch(
        &[&["-r", "prefix.pcap", "--logdir", "prefix"][..], &seed].concat(),
        &tmp.0,
    );
    assert_exit(&out, 0);
    let want = without_stamps(&read(&tmp.path("prefix/conn.log")));
    assert!(want.lines().filter(|l| !l.starts_with('#')).count() > 5);

    for name in ["cut-data", "cut-header"] {
        let file = format!("{name}.pcap");
        let out = connwatch(
            &[&["-r", &file, "--logdir", name][..], &seed].concat(),
            &tmp.0,
        );
        assert_exit(&out, 1);
        let err = stderr(&out);
        let last = err.trim_end().lines().last().unwrap_or("");
        assert!(last.contains(&file), "error names the file: {err}");
        assert!(err.contains("truncated"), "{err}");
        let log = tmp.path(&format!("{name}/conn.log"));
        assert!(log.exists(), "{name}: conn.log of what was read is written");
        let got = read(&log);
        assert!(
            got.lines().any(|l| l.starts_with("#close\t")),
            "{name}: log closed"
        );
        assert_eq!(
            without_stamps(&got),
            want,
            "{name}: rows of the complete records"
        );
    }
}

// ----------------------------------------------------- usage and config

#[test]
fn unknown_flag_exits_2() {
    let tmp = TempDir::new("flag");
    let out = connwatch(&["-r", "x.pcap", "--bogus-flag"], &tmp.0);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--bogus-flag"), "{}", stderr(&out));
    let out = connwatch(&[], &tmp.0);
    assert_exit(&out, 2);
}

#[test]
fn unknown_config_key_is_a_config_error() {
    let tmp = TempDir::new("key");
    small_trace(&tmp.path("t.pcap"));
    for (set, names) in [("foo.bar=1", "foo"), ("track.bogus_key=1", "bogus_key")] {
        let out = connwatch(&["-r", "t.pcap", "--logdir", "logs", "--set", set], &tmp.0);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(names) && err.contains("unknown"),
            "{set}: {err}"
        );
    }
    std::fs::write(tmp.path("a.toml"), "[track]\nbogus_key = 1\n").unwrap();
    std::fs::write(tmp.path("b.toml"), "[foo]\nbar = 1\n").unwrap();
    for (file, key) in [("a.toml", "track.bogus_key"), ("b.toml", "foo")] {
        let out = connwatch(&["-r", "t.pcap", "--logdir", "logs", "-c", file], &tmp.0);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(key), "{file}: names the key: {err}");
        assert!(err.contains(file), "{file}: names the file: {err}");
    }
    assert!(!tmp.path("logs/conn.log").exists());
}

#[test]
fn unknown_config_key_via_set_names_the_full_key() {
    let tmp = TempDir::new("key-full");
    small_trace(&tmp.path("t.pcap"));
    for key in ["foo.bar", "track.bogus_key"] {
        let set = format!("{key}=1");
        let out = connwatch(&["-r", "t.pcap", "--logdir", "logs", "--set", &set], &tmp.0);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(key), "{key}: {}", stderr(&out));
    }
}

#[test]
fn bad_duration_names_key_and_value() {
    let tmp = TempDir::new("duration");
    small_trace(&tmp.path("t.pcap"));
    let out = connwatch(
        &[
            "-r",
            "t.pcap",
            "--logdir",
            "logs",
            "--set",
            "track.tcp_inactivity_timeout=5parsecs",
        ],
        &tmp.0,
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("track.tcp_inactivity_timeout") && err.contains("5parsecs"),
        "{err}"
    );

    std::fs::write(
        tmp.path("c.toml"),
        "[track]\nudp_inactivity_timeout = \"ten minutes\"\n",
    )
    .unwrap();
    let out = connwatch(
        &["-r", "t.pcap", "--logdir", "logs", "-c", "c.toml"],
        &tmp.0,
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("track.udp_inactivity_timeout") && err.contains("ten minutes"),
        "{err}"
    );
    assert!(!tmp.path("logs/conn.log").exists());
}

// ------------------------------------------------------------ outputs

#[test]
fn logdir_is_created_when_missing() {
    let tmp = TempDir::new("logdir");
    small_trace(&tmp.path("t.pcap"));
    let out = connwatch(&["-r", "t.pcap", "--logdir", "a/b/c"], &tmp.0);
    assert_exit(&out, 0);
    let log = read(&tmp.path("a/b/c/conn.log"));
    assert_eq!(log.lines().filter(|l| !l.starts_with('#')).count(), 3);
}

#[test]
fn zero_packets_write_no_conn_log() {
    let tmp = TempDir::new("zero");
    Scenario::new(DEFAULT_START)
        .write_pcap(tmp.path("none.pcap"))
        .unwrap();
    assert_eq!(std::fs::metadata(tmp.path("none.pcap")).unwrap().len(), 24);
    let out = connwatch(&["-r", "none.pcap", "--logdir", "logs"], &tmp.0);
    assert_exit(&out, 0);
    assert!(
        !tmp.path("logs/conn.log").exists(),
        "a log with no records is never created"
    );
}

#[test]
fn stdin_input_equals_file_input() {
    let tmp = TempDir::new("stdin");
    small_trace(&tmp.path("t.pcap"));
    let seed = ["--set", "track.uid_seed=1"];
    let out = connwatch(
        &[&["-r", "t.pcap", "--logdir", "file"][..], &seed].concat(),
        &tmp.0,
    );
    assert_exit(&out, 0);

    let mut child = Command::new(env!("CARGO_BIN_EXE_connwatch"))
        .args([&["-r", "-", "--logdir", "stdin"][..], &seed].concat())
        .current_dir(&tmp.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(tmp.path("t.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let file_log = without_stamps(&read(&tmp.path("file/conn.log")));
    assert_eq!(file_log.lines().filter(|l| !l.starts_with('#')).count(), 3);
    assert_eq!(without_stamps(&read(&tmp.path("stdin/conn.log"))), file_log);
}

/// A JSON object with its keys in written order.
struct Obj(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Obj, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Obj;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Obj, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry::<String, Value>()? {
                    v.push(kv);
                }
                Ok(Obj(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Checks one JSON value against the TSV cell of a column of type `ty`.
fn same_value(ty: &str, cell: &str, v: &Value) -> Result<(), String> {
    let ok = match ty {
        "time" | "interval" => v
            .as_f64()
            .filter(|_| v.is_number())
            .is_some_and(|x| format!("{x:.6}") == cell),
        "count" | "port" => v.as_u64().is_some_and(|x| x.to_string() == cell),
        "int" => v.as_i64().is_some_and(|x| x.to_string() == cell),
        "bool" => v
            .as_bool()
            .is_some_and(|b| (if b { "T" } else { "F" }) == cell),
        "addr" | "string" | "enum" => v.as_str() == Some(cell),
        t if t.starts_with("set[") || t.starts_with("vector[") => {
            let want: BTreeSet<&str> = if cell == "(empty)" {
                BTreeSet::new()
            } else {
                cell.split(',').collect()
            };
            v.as_array().is_some_and(|a| {
                a.len() == want.len()
                    && a.iter().filter_map(Value::as_str).collect::<BTreeSet<_>>() == want
            })
        }
        other => return Err(format!("unknown type {other}")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{ty} TSV {cell:?} vs JSON {v}"))
    }
}

fn json_matches_tsv(trace: &Path, extra: &[&str]) {
    let tmp = TempDir::new("json");
    let base = [&["-r", s(trace), "--set", "track.uid_seed=1"][..], extra].concat();
    let out = connwatch(&[&base[..], &["--logdir", "tsv"]].concat(), &tmp.0);
    assert_exit(&out, 0);
    let out = connwatch(
        &[&base[..], &["--logdir", "json", "--json"]].concat(),
        &tmp.0,
    );
    assert_exit(&out, 0);

    let tsv = read(&tmp.path("tsv/conn.log"));
    let field_line = tsv
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .unwrap();
    let type_line = tsv
        .lines()
        .find_map(|l| l.strip_prefix("#types\t"))
        .unwrap();
    let fields: Vec<&str> = field_line.split('\t').collect();
    let types: Vec<&str> = type_line.split('\t').collect();
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();

    let json = read(&tmp.path("json/conn.log"));
    assert!(!json.starts_with('#'), "JSON logs have no header lines");
    let objs: Vec<Obj> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    assert_eq!(objs.len(), rows.len(), "same number of records");
    assert!(!rows.is_empty());

    let mut unset_seen = 0;
    for (row, obj) in rows.iter().zip(&objs) {
        // Keys: exactly the set columns, in column order.
        let want_keys: Vec<&str> = fields
            .iter()
            .zip(row)
            .filter(|(_, cell)| **cell != "-")
            .map(|(f, _)| *f)
            .collect();
        unset_seen += fields.len() - want_keys.len();
        let got_keys: Vec<&str> = obj.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(got_keys, want_keys, "keys of {}", row.join(" "));
        for ((key, value), (f, ty)) in obj.0.iter().zip(
            fields
                .iter()
                .zip(&types)
                .zip(row)
                .filter(|(_, cell)| **cell != "-")
                .map(|((f, t), _)| (*f, *t)),
        ) {
            assert_eq!(key, f);
            let cell = row[fields.iter().position(|x| *x == f).unwrap()];
            if let Err(e) = same_value(ty, cell, value) {
                panic!("{f} of {}: {e}", row.join(" "));
            }
        }
    }
    assert!(unset_seen > 0, "the trace should have unset fields");
}

#[test]
fn json_records_equal_tsv_records() {
    for case in ["wikipedia-mixed", "teredo-tunnel", "gre-tunnel"] {
        let Some(trace) = conformance_trace(case) else {
            return;
        };
        json_matches_tsv(&trace, &[]);
    }
}

#[test]
fn json_records_equal_tsv_records_without_local_nets() {
    // Unset local_orig/local_resp must be omitted too.
    let Some(trace) = conformance_trace("wikipedia-mixed") else {
        return;
    };
    json_matches_tsv(
        &trace,
        &["--set", "site.private_address_space_is_local=false"],
    );
}

// ------------------------------------------------------------------ README

/// The first command of the README (a line in a code block that runs
/// `connwatch`), with the binary substituted.
fn readme_command(readme: &str) -> Option<String> {
    let mut in_code = false;
    for line in readme.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let cmd = t.trim_start_matches("$ ").trim();
        let bin = env!("CARGO_BIN_EXE_connwatch");
        for prefix in [
            "./target/release/connwatch ",
            "target/release/connwatch ",
            "./target/debug/connwatch ",
            "target/debug/connwatch ",
            "connwatch ",
        ] {
            if let Some(rest) = cmd.strip_prefix(prefix) {
                return Some(format!("{bin} {rest}"));
            }
        }
        if let Some(rest) = cmd.strip_prefix("cargo run") {
            if let Some((_, args)) = rest.split_once(" -- ") {
                return Some(format!("{bin} {args}"));
            }
        }
    }
    None
}

#[test]
fn readme_first_command_works() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Ok(readme) = std::fs::read_to_string(root.join("README.md")) else {
        eprintln!("README.md does not exist yet: skipped");
        return;
    };
    let cmd = readme_command(&readme).expect("README.md shows a connwatch command in a code block");
    eprintln!("README command: {cmd}");
    // Run from a scratch copy of the layout (workspace + shared/ next to
    // it) so relative paths resolve and logs do not land in the repo.
    let tmp = TempDir::new("readme");
    let ws = tmp.path("ws");
    std::fs::create_dir_all(&ws).unwrap();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), ws.join(&name)).unwrap();
    }
    let shared = root.join("../shared");
    if shared.exists() {
        std::os::unix::fs::symlink(shared.canonicalize().unwrap(), tmp.path("shared")).unwrap();
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .current_dir(&ws)
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn readme_command_is_found_in_code_blocks_only() {
    let bin = env!("CARGO_BIN_EXE_connwatch");
    let text = "Run connwatch -r nothing here\n\n```sh\ncargo run --release -- -C -r t.pcap --logdir out && cat out/conn.log\nconnwatch -r x\n```\n";
    assert_eq!(
        readme_command(text).as_deref(),
        Some(format!("{bin} -C -r t.pcap --logdir out && cat out/conn.log").as_str())
    );
    let text = "```\n$ connwatch -r a.pcap\n```\n";
    assert_eq!(readme_command(text), Some(format!("{bin} -r a.pcap")));
    assert_eq!(readme_command("connwatch -r a.pcap\n"), None);
}
