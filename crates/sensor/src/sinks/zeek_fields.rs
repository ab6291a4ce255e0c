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
}

impl ZeekType {
    /// The name in `#types`.
    pub const fn name(self) -> &'static str {
        match self {
            ZeekType::Time => "time",
            ZeekType::Interval => "interval",
            ZeekType::Count => "count",
            ZeekType::Int => "int",
            ZeekType::Port => "port",
            ZeekType::Addr => "addr",
            ZeekType::Subnet => "subnet",
            ZeekType::String => "string",
            ZeekType::Bool => "bool",
            ZeekType::Enum => "enum",
            ZeekType::StringSet => "set[string]",
            ZeekType::StringVector => "vector[string]",
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
pub const CONN_FIELDS: &[Field] = &[
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
}
