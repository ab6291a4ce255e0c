//! A Prometheus endpoint: `GET /metrics` on a loopback address, in the
//! text exposition format (version 0.0.4).
//!
//! Off by default (`metrics.listen`). One small thread with a blocking
//! `std` listener serves one request per connection; nothing on the packet
//! path. Only loopback addresses are accepted (checked in config), so the
//! endpoint is for a local scraper or an SSH tunnel, never the monitored
//! network.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::counters::{resident_bytes, Totals, WorkerCounters};

/// Binds the listener (before privileges are dropped, so a low port works).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

/// Serves `/metrics` from `listener` until the process ends.
pub fn spawn(listener: TcpListener, workers: Vec<Arc<WorkerCounters>>) {
    std::thread::Builder::new()
        .name("connwatch-metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &workers);
            }
        })
        .ok();
}

fn serve(mut stream: TcpStream, workers: &[Arc<WorkerCounters>]) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut req = [0u8; 2048];
    let mut n = 0;
    // Read the request line (a bounded buffer: a client cannot make us
    // allocate).
    while n < req.len() {
        let k = stream.read(&mut req[n..])?;
        if k == 0 {
            break;
        }
        n += k;
        if req[..n].windows(4).any(|w| w == b"\r\n\r\n") || req[..n].contains(&b'\n') {
            break;
        }
    }
    let line = String::from_utf8_lossy(&req[..n]);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if line.starts_with("GET ") && (path == "/metrics" || path == "/") {
        ("200 OK", render(&Totals::sum(workers), workers.len()))
    } else {
        ("404 Not Found", "not found; try /metrics\n".to_string())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// The exposition text.
pub fn render(t: &Totals, workers: usize) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    metric(
        "connwatch_packets_total",
        "counter",
        "Frames processed.",
        t.packets,
    );
    metric(
        "connwatch_bytes_total",
        "counter",
        "Captured bytes processed.",
        t.bytes,
    );
    metric(
        "connwatch_kernel_packets_total",
        "counter",
        "Packets the kernel saw for the capture sockets (delivered and dropped).",
        t.kernel_packets,
    );
    metric(
        "connwatch_kernel_drops_total",
        "counter",
        "Packets the kernel dropped because a capture ring was full.",
        t.kernel_drops,
    );
    metric(
        "connwatch_filtered_packets_total",
        "counter",
        "Frames dropped by capture.ignore.",
        t.filtered,
    );
    metric(
        "connwatch_weirds_total",
        "counter",
        "Malformed or unexpected packets (Zeek weirds).",
        t.weirds,
    );
    metric(
        "connwatch_evicted_connections_total",
        "counter",
        "Connections evicted because track.max_connections was reached.",
        t.evicted,
    );
    metric(
        "connwatch_untracked_connections_total",
        "counter",
        "Connections not tracked because the table was full of protected ones.",
        t.untracked,
    );
    metric(
        "connwatch_resident_memory_bytes",
        "gauge",
        "Resident memory of the process.",
        resident_bytes(),
    );
    metric(
        "connwatch_workers",
        "gauge",
        "Capture worker threads.",
        workers as u64,
    );
    let protos = ["tcp", "udp", "icmp", "other"];
    let _ = writeln!(
        out,
        "# HELP connwatch_open_connections Connections tracked now.\n# TYPE connwatch_open_connections gauge"
    );
    for (p, v) in protos.iter().zip(t.open) {
        let _ = writeln!(out, "connwatch_open_connections{{proto=\"{p}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP connwatch_connections_total Connections created.\n# TYPE connwatch_connections_total counter"
    );
    for (p, v) in protos.iter().zip(t.created) {
        let _ = writeln!(out, "connwatch_connections_total{{proto=\"{p}\"}} {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_metrics_over_http() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let w = Arc::new(WorkerCounters::default());
        w.store(&Totals {
            packets: 12,
            kernel_drops: 3,
            open: [1, 2, 0, 0],
            ..Totals::default()
        });
        spawn(listener, vec![w]);
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            text
        };
        let text = get("/metrics");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("\nconnwatch_packets_total 12\n"), "{text}");
        assert!(
            text.contains("\nconnwatch_kernel_drops_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("\nconnwatch_open_connections{proto=\"udp\"} 2\n"),
            "{text}"
        );
        assert!(get("/other").starts_with("HTTP/1.1 404"));
    }
}
