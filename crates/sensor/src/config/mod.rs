//! Configuration in two stages (Vector style): [`raw`] is the TOML file as
//! written (serde, documented defaults, unknown keys rejected); [`validate`]
//! merges it with the command line and turns it into a checked
//! [`SensorConfig`], reporting every error at once.

pub mod duration;
pub mod raw;
pub mod server_ports;
pub mod validate;

pub use connwatch_track::Cidr;
pub use duration::parse_duration;
pub use server_ports::{LikelyServerPorts, PortSet};
pub use validate::{
    load, parse_collector, Collector, ConfigError, ExportSettings, FlowSettings, FlowSource, Input,
    LiveSettings, LongSettings, SensorConfig, SiteConfig, TrackSettings, ZeekScripts,
};
