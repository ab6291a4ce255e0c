//! Zeek log schemas: column names and Zeek type names, in column order.
//!
//! A schema is static data; the writer in [`super::zeek_log`] renders the
//! `#fields`/`#types` header lines from it and checks (in debug builds) that
//! each cell written has the column's type. New logs (conn_long.log,
//! notice.log) add a schema here.

/// A Zeek log column type, as written in `#types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeekType {
    /// `time`: epoch seconds.
    Time,
    /// `interval`: seconds.
    Interval,
    /// `count`: unsigned integer.
    Count,
    /// `int`: signed integer.
    Int,
    /// `double`: floating point.
    Double,
    /// `port`: transport port number.
    Port,
    /// `addr`: IP address.
    Addr,
    /// `subnet`: CIDR prefix.
    Subnet,
    /// `string`: escaped bytes.
    String,
    /// `bool`: `T`/`F`.
    Bool,
    /// `enum`: identifier.
    Enum,
    /// `set[string]`.
    StringSet,
    /// `vector of string`.
    StringVector,
    /// `set[enum]` (e.g. notice.log `actions`).
    EnumSet,
}

impl ZeekType {
    /// The name in `#types`.
    pub const fn name(self) -> &'static str {
        match self {
            ZeekType::Time => "time",
            ZeekType::Interval => "interval",
            ZeekType::Count => "count",
            ZeekType::Int => "int",
            ZeekType::Double => "double",
            ZeekType::Port => "port",
            ZeekType::Addr => "addr",
            ZeekType::Subnet => "subnet",
            ZeekType::String => "string",
            ZeekType::Bool => "bool",
            ZeekType::Enum => "enum",
            ZeekType::StringSet => "set[string]",
            ZeekType::StringVector => "vector[string]",
            ZeekType::EnumSet => "set[enum]",
        }
    }
}

/// One column: flattened name (`id.orig_h`) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Column name, also the JSON key.
    pub name: &'static str,
    /// Zeek type.
    pub ty: ZeekType,
}

const fn f(name: &'static str, ty: ZeekType) -> Field {
    Field { name, ty }
}

/// A log: its `#path` and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSchema {
    /// `#path` value and file stem (`conn` → `conn.log`).
    pub path: &'static str,
    /// Columns in order.
    pub fields: &'static [Field],
}

/// The default conn.log columns (spec §2.1), in Zeek's order.
pub const CONN_FIELDS: &[Field] = &CONN_FIELD_ARRAY;

const CONN_FIELD_ARRAY: [Field; 22] = [
    f("ts", ZeekType::Time),
    f("uid", ZeekType::String),
    f("id.orig_h", ZeekType::Addr),
    f("id.orig_p", ZeekType::Port),
    f("id.resp_h", ZeekType::Addr),
    f("id.resp_p", ZeekType::Port),
    f("proto", ZeekType::Enum),
    f("service", ZeekType::String),
    f("duration", ZeekType::Interval),
    f("orig_bytes", ZeekType::Count),
    f("resp_bytes", ZeekType::Count),
    f("conn_state", ZeekType::String),
    f("local_orig", ZeekType::Bool),
    f("local_resp", ZeekType::Bool),
    f("missed_bytes", ZeekType::Count),
    f("history", ZeekType::String),
    f("orig_pkts", ZeekType::Count),
    f("orig_ip_bytes", ZeekType::Count),
    f("resp_pkts", ZeekType::Count),
    f("resp_ip_bytes", ZeekType::Count),
    f("tunnel_parents", ZeekType::StringSet),
    f("ip_proto", ZeekType::Count),
];

/// conn.log.
pub const CONN_LOG: LogSchema = LogSchema {
    path: "conn",
    fields: CONN_FIELDS,
};

/// conn.log written by the flow collector: Zeek's columns, then
/// `sampling` (the exporters' packet sampling interval; 1 = unsampled,
/// above 1 the counters were scaled by it).
pub const CONN_FLOW_LOG: LogSchema = LogSchema {
    path: "conn",
    fields: &CONN_FLOW_FIELD_ARRAY,
};

const CONN_FLOW_FIELD_ARRAY: [Field; 23] = {
    let mut a = [f("sampling", ZeekType::Count); 23];
    let mut i = 0;
    while i < 22 {
        a[i] = CONN_FIELD_ARRAY[i];
        i += 1;
    }
    a
};

/// What conn_long.log adds after the conn.log columns
/// (shared/spec/long-connections.md, Behaviour 6).
const LONG_EXTRA_ARRAY: [Field; 7] = [
    f("report_ts", ZeekType::Time),
    f("threshold", ZeekType::Interval),
    f("idle", ZeekType::Interval),
    f("orig_bytes_delta", ZeekType::Count),
    f("resp_bytes_delta", ZeekType::Count),
    f("orig_pkts_delta", ZeekType::Count),
    f("resp_pkts_delta", ZeekType::Count),
];

const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [Field; A],
    b: [Field; B],
) -> [Field; N] {
    assert!(A + B == N);
    let mut out = [f("", ZeekType::Count); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

const CONN_LONG_EXTRA_ARRAY: [Field; 29] = concat(CONN_FIELD_ARRAY, LONG_EXTRA_ARRAY);

/// conn_long.log as the zeek-long-connections package writes it: exactly
/// the conn.log columns (`long.extra_columns = false`).
pub const CONN_LONG_LOG: LogSchema = LogSchema {
    path: "conn_long",
    fields: CONN_FIELDS,
};

/// conn_long.log with the extra columns (the default): conn.log's, then
/// `report_ts`, `threshold`, `idle` and the four deltas.
pub const CONN_LONG_EXTRA_LOG: LogSchema = LogSchema {
    path: "conn_long",
    fields: &CONN_LONG_EXTRA_ARRAY,
};

/// notice.log's default columns in Zeek 8 (`Notice::Info` from
/// base/frameworks/notice/main.zeek, plus `remote_location` from
/// base/frameworks/notice/actions/add-geodata.zeek), checked against
/// zeek/zeek testing/btest/Baseline/scripts.base.frameworks.notice.cluster.
pub const NOTICE_FIELDS: &[Field] = &[
    f("ts", ZeekType::Time),
    f("uid", ZeekType::String),
    f("id.orig_h", ZeekType::Addr),
    f("id.orig_p", ZeekType::Port),
    f("id.resp_h", ZeekType::Addr),
    f("id.resp_p", ZeekType::Port),
    f("fuid", ZeekType::String),
    f("file_mime_type", ZeekType::String),
    f("file_desc", ZeekType::String),
    f("proto", ZeekType::Enum),
    f("note", ZeekType::Enum),
    f("msg", ZeekType::String),
    f("sub", ZeekType::String),
    f("src", ZeekType::Addr),
    f("dst", ZeekType::Addr),
    f("p", ZeekType::Port),
    f("n", ZeekType::Count),
    f("peer_descr", ZeekType::String),
    f("actions", ZeekType::EnumSet),
    f("email_dest", ZeekType::StringSet),
    f("suppress_for", ZeekType::Interval),
    f("remote_location.country_code", ZeekType::String),
    f("remote_location.region", ZeekType::String),
    f("remote_location.city", ZeekType::String),
    f("remote_location.latitude", ZeekType::Double),
    f("remote_location.longitude", ZeekType::Double),
];

/// notice.log.
pub const NOTICE_LOG: LogSchema = LogSchema {
    path: "notice",
    fields: NOTICE_FIELDS,
};

/// stats.log columns: Zeek's (`Telemetry`-era `stats.log`, same names,
/// types and order) where connwatch has the number, then connwatch's own
/// (`evicted_conns`, `untracked_conns`, `weirds`). Per-interval counts are
/// since the previous line, `active_*` are at the time of the line, as in
/// Zeek.
pub const STATS_FIELDS: &[Field] = &[
    f("ts", ZeekType::Time),
    f("peer", ZeekType::String),
    f("mem", ZeekType::Count),
    f("pkts_proc", ZeekType::Count),
    f("bytes_recv", ZeekType::Count),
    f("pkts_dropped", ZeekType::Count),
    f("pkts_link", ZeekType::Count),
    f("pkts_filtered", ZeekType::Count),
    f("active_tcp_conns", ZeekType::Count),
    f("active_udp_conns", ZeekType::Count),
    f("active_icmp_conns", ZeekType::Count),
    f("tcp_conns", ZeekType::Count),
    f("udp_conns", ZeekType::Count),
    f("icmp_conns", ZeekType::Count),
    f("evicted_conns", ZeekType::Count),
    f("untracked_conns", ZeekType::Count),
    f("weirds", ZeekType::Count),
];

/// `stats.log`.
pub const STATS_LOG: LogSchema = LogSchema {
    path: "stats",
    fields: STATS_FIELDS,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_types_line_matches_spec() {
        let types: Vec<&str> = CONN_FIELDS.iter().map(|f| f.ty.name()).collect();
        assert_eq!(
            types.join(" "),
            "time string addr port addr port enum string interval count count string \
             bool bool count string count count count count set[string] count"
        );
    }

    #[test]
    fn conn_long_starts_with_conn() {
        assert_eq!(CONN_LONG_LOG.fields, CONN_FIELDS);
        let extra = CONN_LONG_EXTRA_LOG.fields;
        assert_eq!(&extra[..22], CONN_FIELDS);
        let names: Vec<&str> = extra[22..].iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "report_ts",
                "threshold",
                "idle",
                "orig_bytes_delta",
                "resp_bytes_delta",
                "orig_pkts_delta",
                "resp_pkts_delta"
            ]
        );
    }

    #[test]
    fn notice_types_line_matches_zeek() {
        let types: Vec<&str> = NOTICE_FIELDS.iter().map(|f| f.ty.name()).collect();
        assert_eq!(
            types.join(" "),
            "time string addr port addr port string string string enum enum string string \
             addr addr port count string set[enum] set[string] interval string string string \
             double double"
        );
    }
}
