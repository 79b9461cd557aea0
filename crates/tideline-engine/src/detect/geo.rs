//! geo: addresses as the rules need them — located with a MaxMind City database, and the
//! great-circle distance between two places. (Source IPs are read by
//! [`crate::attribution::parse_ip`], the one lenient reading.)

use std::net::IpAddr;

use maxminddb::geoip2;

/// Where an address is, as far as the database knows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    /// "London, GB", or the country alone, or the coordinates.
    pub name: String,
}

pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl GeoIp {
    /// Opens the database at `path`; without one (or when it cannot be read) the travel rule
    /// is off, and the note says why.
    pub fn open(path: Option<&str>) -> (Option<GeoIp>, Option<String>) {
        let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
            return (None, Some("off: no GeoIP database is configured (settings: geoip_database, a MaxMind City .mmdb file)".into()));
        };
        match maxminddb::Reader::open_readfile(path) {
            Ok(reader) => (Some(GeoIp { reader }), None),
            Err(error) => (
                None,
                Some(format!(
                    "off: cannot read the GeoIP database {path}: {error}"
                )),
            ),
        }
    }

    pub fn locate(&self, ip: IpAddr) -> Option<Place> {
        let city: geoip2::City<'_> = self.reader.lookup(ip).ok()?.decode().ok()??;
        let latitude = city.location.latitude?;
        let longitude = city.location.longitude?;
        let country = city.country.iso_code;
        let name = match (city.city.names.english, country) {
            (Some(city), Some(country)) => format!("{city}, {country}"),
            (None, Some(country)) => country.to_owned(),
            (Some(city), None) => city.to_owned(),
            (None, None) => format!("{latitude:.2}, {longitude:.2}"),
        };
        Some(Place {
            latitude,
            longitude,
            name,
        })
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(a: &Place, b: &Place) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_to_changchun_is_about_8100_km() {
        let london = Place {
            latitude: 51.5142,
            longitude: -0.0931,
            name: "London".into(),
        };
        let changchun = Place {
            latitude: 43.88,
            longitude: 125.3228,
            name: "Changchun".into(),
        };
        let km = distance_km(&london, &changchun);
        assert!((7_900.0..8_300.0).contains(&km), "{km}");
    }
}
