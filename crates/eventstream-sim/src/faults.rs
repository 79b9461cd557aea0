//! Fault injection settings and the `--faults` spec parser
//! (`drop-every=N,dup=P,malformed=P,oversize=P,stall-after=N`).

use crate::error::SimError;

/// Which faults to inject. The default injects none.
///
/// Shares (`dup`, `malformed`, `oversize`) are per valid event: each valid event
/// independently gets a duplicate, a malformed frame and an oversize frame after it with
/// those probabilities, decided by a pure function of the seed and the event's index.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// End the response after this many `id:` frames on one connection.
    pub drop_every: Option<u64>,
    /// Share of valid events delivered twice (same id, same bytes).
    pub dup: f64,
    /// Share of valid events followed by an extra malformed frame.
    pub malformed: f64,
    /// Share of valid events followed by an extra frame whose data is over 1 MiB.
    pub oversize: f64,
    /// Go silent (no frames, no keep-alives) after this many `id:` frames on one connection.
    pub stall_after: Option<u64>,
}

impl Faults {
    /// True when no fault is configured.
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

/// Parses a comma-separated fault spec such as `drop-every=100,dup=0.02`.
///
/// The empty string means no faults. Each key may appear once; shares must lie in
/// `0..=1`; counts must be at least 1.
pub fn parse_faults(spec: &str) -> Result<Faults, SimError> {
    let fail = |reason: String| SimError::InvalidFaults {
        spec: spec.to_owned(),
        reason,
    };
    let mut faults = Faults::default();
    let mut seen: Vec<&str> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| fail(format!("`{item}` is not of the form key=value")))?;
        let (key, value) = (key.trim(), value.trim());
        if seen.contains(&key) {
            return Err(fail(format!("`{key}` is given twice")));
        }
        seen.push(key);
        match key {
            "drop-every" => faults.drop_every = Some(parse_count(key, value).map_err(fail)?),
            "stall-after" => faults.stall_after = Some(parse_count(key, value).map_err(fail)?),
            "dup" => faults.dup = parse_share(key, value).map_err(fail)?,
            "malformed" => faults.malformed = parse_share(key, value).map_err(fail)?,
            "oversize" => faults.oversize = parse_share(key, value).map_err(fail)?,
            other => {
                return Err(fail(format!(
                    "unknown fault `{other}` (known: drop-every, dup, malformed, oversize, stall-after)"
                )));
            }
        }
    }
    Ok(faults)
}

fn parse_count(key: &str, value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{key}` needs a whole number of at least 1, got `{value}`"
        )),
    }
}

fn parse_share(key: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "`{key}` needs a fraction between 0 and 1, got `{value}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_ignores_spaces() {
        let f =
            parse_faults("drop-every=10, dup=0.02,malformed=0.1,oversize=0,stall-after=5").unwrap();
        assert_eq!(f.drop_every, Some(10));
        assert_eq!(f.stall_after, Some(5));
        assert_eq!(f.dup, 0.02);
        assert_eq!(f.malformed, 0.1);
        assert_eq!(f.oversize, 0.0);
    }

    #[test]
    fn empty_spec_means_no_faults() {
        assert!(parse_faults("").unwrap().is_none());
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        for bad in [
            "dup",
            "dup=2",
            "dup=-0.1",
            "dup=x",
            "drop-every=0",
            "drop-every=1.5",
            "shuffle=1",
            "dup=0.1,dup=0.2",
        ] {
            let err = parse_faults(bad).unwrap_err().to_string();
            assert!(err.contains("invalid fault spec"), "{bad}: {err}");
        }
    }
}
