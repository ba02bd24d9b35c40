//! Where a client address is on the map, from a file the operator supplies
//! (`risk.login.regions_file`), for impossible travel between sign-ins (issue 6 item 2).
//!
//! The file is CSV, one network per line: `cidr,name,latitude,longitude`, for example
//! `203.0.113.0/24,Shanghai,31.2304,121.4737`. Blank lines, lines starting with `#` and a
//! header line starting with `cidr` are skipped; fields are not quoted (a name holds no
//! comma). The longest network that holds an address places it. Networks and positions come
//! from the operator's own geolocation source; nothing is looked up over the network.
//!
//! Loaded files are cached per path and read again when the file's modification time changes,
//! so an operator can replace the file without a restart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// Largest region file read, bytes.
pub const REGIONS_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most networks one file may list.
pub const REGIONS_MAX: usize = 2_000_000;
/// Longest region name, characters.
pub const REGION_NAME_CHARS_MAX: usize = 64;
/// Mean radius of the Earth, km.
const EARTH_RADIUS_KM: f64 = 6_371.0;

/// Why a region file was refused. Names the line, never echoes its content beyond the field
/// that is wrong (the file is the operator's, not personal data).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegionsError {
    /// The file could not be read.
    #[error("{path}: cannot be read: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is larger than [`REGIONS_FILE_BYTES_MAX`] or lists more than [`REGIONS_MAX`].
    #[error("{path}: too large (at most 64 MiB and 2,000,000 networks)")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// A line is not `cidr,name,latitude,longitude` with valid values.
    #[error("{path} line {line}: {reason}; expected cidr,name,latitude,longitude")]
    Line {
        /// The file.
        path: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A position, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Latitude, -90 to 90.
    pub latitude: f64,
    /// Longitude, -180 to 180.
    pub longitude: f64,
}

impl Position {
    /// The position in 1/10,000 degree, as the sign-in history stores it.
    pub fn to_e4(self) -> (i64, i64) {
        (
            (self.latitude * 10_000.0).round() as i64,
            (self.longitude * 10_000.0).round() as i64,
        )
    }

    /// A position stored in 1/10,000 degree.
    pub fn from_e4((latitude, longitude): (i64, i64)) -> Self {
        Self {
            latitude: latitude as f64 / 10_000.0,
            longitude: longitude as f64 / 10_000.0,
        }
    }

    /// The great-circle distance to `other`, km (haversine).
    pub fn distance_km(self, other: Position) -> f64 {
        let (lat_a, lat_b) = (self.latitude.to_radians(), other.latitude.to_radians());
        let lat_delta = lat_b - lat_a;
        let lon_delta = (other.longitude - self.longitude).to_radians();
        let h = (lat_delta / 2.0).sin().powi(2)
            + lat_a.cos() * lat_b.cos() * (lon_delta / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }
}

/// An address as a 128-bit number: IPv4 as IPv4-mapped IPv6, so one table holds both.
fn address_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (0xffff_u128 << 32) | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => address_bits(IpAddr::V4(v4)),
            None => u128::from(v6),
        },
    }
}

fn mask(bits: u128, prefix: u32) -> u128 {
    match prefix {
        0 => 0,
        128.. => bits,
        _ => bits & (u128::MAX << (128 - prefix)),
    }
}

/// The networks of a region file, by prefix length, longest first.
#[derive(Debug, Default)]
pub struct RegionMap {
    by_prefix: Vec<(u32, HashMap<u128, Position>)>,
    networks: usize,
}

impl RegionMap {
    /// Reads and checks a region file.
    pub fn load(path: &Path) -> Result<RegionMap, RegionsError> {
        let shown = path.display().to_string();
        let unreadable = |error: std::io::Error| RegionsError::Unreadable {
            path: shown.clone(),
            reason: error.kind().to_string(),
        };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > REGIONS_FILE_BYTES_MAX {
            return Err(RegionsError::TooLarge { path: shown });
        }
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        Self::parse(&text).map_err(|(line, reason)| match reason {
            "too many networks" => RegionsError::TooLarge {
                path: shown.clone(),
            },
            reason => RegionsError::Line {
                path: shown.clone(),
                line,
                reason,
            },
        })
    }

    /// Parses the text of a region file; on error, the line number and what is wrong.
    pub fn parse(text: &str) -> Result<RegionMap, (usize, &'static str)> {
        let mut tables: HashMap<u32, HashMap<u128, Position>> = HashMap::new();
        let mut networks = 0;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("cidr") {
                continue;
            }
            let (bits, prefix, position) =
                parse_line(line).map_err(|reason| (index + 1, reason))?;
            networks += 1;
            if networks > REGIONS_MAX {
                return Err((index + 1, "too many networks"));
            }
            tables.entry(prefix).or_default().insert(bits, position);
        }
        let mut by_prefix: Vec<_> = tables.into_iter().collect();
        by_prefix.sort_by_key(|(prefix, _)| std::cmp::Reverse(*prefix));
        Ok(RegionMap {
            by_prefix,
            networks,
        })
    }

    /// How many networks the file listed.
    pub fn len(&self) -> usize {
        self.networks
    }

    /// Whether the file listed none.
    pub fn is_empty(&self) -> bool {
        self.networks == 0
    }

    /// Where the longest network holding `ip` places it, if any does.
    pub fn position(&self, ip: IpAddr) -> Option<Position> {
        let bits = address_bits(ip);
        self.by_prefix
            .iter()
            .find_map(|(prefix, table)| table.get(&mask(bits, *prefix)).copied())
    }
}

fn parse_line(line: &str) -> Result<(u128, u32, Position), &'static str> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [cidr, name, latitude, longitude] = fields.as_slice() else {
        return Err("not four fields");
    };
    let (address, prefix) = cidr.split_once('/').ok_or("the network has no /prefix")?;
    let address: IpAddr = address.parse().map_err(|_| "not an IP address")?;
    let prefix: u32 = prefix.parse().map_err(|_| "not a prefix length")?;
    let prefix = match address {
        IpAddr::V4(_) if prefix <= 32 => prefix + 96,
        IpAddr::V6(_) if prefix <= 128 => prefix,
        _ => return Err("prefix length too long for the address"),
    };
    let chars = name.chars().count();
    if chars == 0 || chars > REGION_NAME_CHARS_MAX {
        return Err("the name must be 1 to 64 characters");
    }
    let latitude: f64 = latitude.parse().map_err(|_| "latitude is not a number")?;
    let longitude: f64 = longitude.parse().map_err(|_| "longitude is not a number")?;
    if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
        return Err("latitude must be -90 to 90");
    }
    if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
        return Err("longitude must be -180 to 180");
    }
    Ok((
        mask(address_bits(address), prefix),
        prefix,
        Position {
            latitude,
            longitude,
        },
    ))
}

type Cache = Mutex<HashMap<PathBuf, (Option<SystemTime>, Arc<RegionMap>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The region map of `path`, read again if the file changed since it was last read. A file
/// that has become unreadable or malformed is reported in the log; the last good map stays in
/// use (none, if there never was one).
pub fn regions(path: &Path) -> Option<Arc<RegionMap>> {
    let modified = std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok();
    let mut cache = match cache().lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some((seen, map)) = cache.get(path)
        && (*seen == modified || modified.is_none())
    {
        if modified.is_none() {
            tracing::error!(
                target: "inspay::risk",
                file = %path.display(),
                "the region file cannot be read; the last one read stays in use"
            );
        }
        return Some(map.clone());
    }
    match RegionMap::load(path) {
        Ok(map) => {
            let map = Arc::new(map);
            cache.insert(path.to_path_buf(), (modified, map.clone()));
            Some(map)
        }
        Err(error) => {
            tracing::error!(
                target: "inspay::risk",
                error = %error,
                "the region file was refused; the last good one stays in use"
            );
            cache.get(path).map(|(_, map)| map.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "cidr,name,latitude,longitude
# test networks
203.0.113.0/24,Shanghai,31.2304,121.4737
203.0.0.0/16,Beijing,39.9042,116.4074
2001:db8:1::/48,Urumqi,43.8256,87.6168
";

    /// The longest network wins, IPv4 and IPv6 (and IPv4-mapped IPv6) are placed, and an
    /// address outside every network has no position.
    #[test]
    fn the_longest_network_places_an_address() {
        let map = RegionMap::parse(FILE).expect("parses");
        assert_eq!(map.len(), 3);
        let at = |ip: &str| map.position(ip.parse().expect("ip")).map(|p| p.latitude);
        assert_eq!(at("203.0.113.9"), Some(31.2304));
        assert_eq!(at("203.0.7.1"), Some(39.9042));
        assert_eq!(at("::ffff:203.0.113.9"), Some(31.2304));
        assert_eq!(at("2001:db8:1:ff::1"), Some(43.8256));
        assert_eq!(at("198.51.100.1"), None);
    }

    /// Bad lines are refused with their number and what is wrong.
    #[test]
    fn bad_lines_are_refused() {
        for (text, reason) in [
            ("203.0.113.0/24,Shanghai,31.2", "not four fields"),
            (
                "203.0.113.0,Shanghai,31.2,121.4",
                "the network has no /prefix",
            ),
            (
                "203.0.113.0/33,Shanghai,31.2,121.4",
                "prefix length too long for the address",
            ),
            (
                "203.0.113.0/24,,31.2,121.4",
                "the name must be 1 to 64 characters",
            ),
            (
                "203.0.113.0/24,Shanghai,91,121.4",
                "latitude must be -90 to 90",
            ),
            (
                "203.0.113.0/24,Shanghai,31.2,NaN",
                "longitude must be -180 to 180",
            ),
        ] {
            assert_eq!(RegionMap::parse(text).err(), Some((1, reason)), "{text}");
        }
    }

    /// Distances follow the great circle: Beijing to Shanghai is about 1,070 km.
    #[test]
    fn distances_are_great_circle() {
        let beijing = Position {
            latitude: 39.9042,
            longitude: 116.4074,
        };
        let shanghai = Position {
            latitude: 31.2304,
            longitude: 121.4737,
        };
        let km = beijing.distance_km(shanghai);
        assert!((1_050.0..1_090.0).contains(&km), "{km}");
        assert_eq!(beijing.distance_km(beijing), 0.0);
        assert_eq!(Position::from_e4(shanghai.to_e4()), shanghai);
    }
}
