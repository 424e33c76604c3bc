//! The asset catalogue as data: asset and group specifications, their validation, and
//! the seed catalogue shipped with the platform (`shared/data/catalogue.json`).
//!
//! The API and the CLI both validate through [`AssetSpec::validate`] and
//! [`GroupSpec::validate`], so a bad field gets the same message from either.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Asset classes.
pub const CLASSES: [&str; 4] = ["stock", "crypto", "fx", "index"];

/// The seed catalogue: common crypto pairs (with their Binance, OKX and CoinGecko ids),
/// the demo stocks and indices, and the groups Top10, DeFi, Layer1, Layer2, Meme,
/// US Tech and US Indices. Market-cap ranks are a snapshot; sources refresh them.
const SEED: &str = include_str!("../data/catalogue.json");

/// One asset of a catalogue file or request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Symbol, e.g. `BTCUSDT`, `AAPL` (stored upper-case).
    pub symbol: String,
    /// Display name (defaults to the symbol).
    #[serde(default)]
    pub name: Option<String>,
    /// `stock`, `crypto`, `fx` or `index`.
    pub class: String,
    /// Exchange or venue.
    #[serde(default)]
    pub exchange: Option<String>,
    /// Category, e.g. `layer1`, `defi`, `technology`.
    #[serde(default)]
    pub category: Option<String>,
    /// Binance spot symbol, e.g. `BTCUSDT`.
    #[serde(default)]
    pub binance_symbol: Option<String>,
    /// OKX instrument id, e.g. `BTC-USDT`.
    #[serde(default)]
    pub okx_symbol: Option<String>,
    /// CoinGecko coin id, e.g. `bitcoin`.
    #[serde(default)]
    pub coingecko_id: Option<String>,
    /// Market-capitalisation rank (1 = largest).
    #[serde(default)]
    pub market_cap_rank: Option<i32>,
}

/// One group of a catalogue file or request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// URL name, e.g. `defi` (lower-case letters, digits, `-`).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What the group holds.
    #[serde(default)]
    pub description: String,
    /// Member symbols in order.
    #[serde(default)]
    pub members: Vec<String>,
}

/// A whole catalogue: assets, then groups over them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Assets.
    pub assets: Vec<AssetSpec>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

impl Catalogue {
    /// The seed catalogue shipped with the platform.
    pub fn seed() -> Result<Self> {
        Self::parse(SEED)
    }

    /// Parses and validates a catalogue document (JSON).
    pub fn parse(text: &str) -> Result<Self> {
        let mut catalogue: Catalogue =
            serde_json::from_str(text).map_err(|e| Error::invalid("catalogue", format!("bad catalogue: {e}")))?;
        for asset in &mut catalogue.assets {
            asset.validate()?;
        }
        for group in &mut catalogue.groups {
            group.validate()?;
        }
        Ok(catalogue)
    }
}

fn check_text(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    match value {
        Some(v) if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) => {
            Err(Error::invalid(field, format!("{field} must be 1 to {max} printable characters")))
        }
        _ => Ok(()),
    }
}

/// Whether `symbol` is a valid catalogue symbol (after upper-casing).
pub fn valid_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= 32
        && symbol.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '^' | '='))
}

impl AssetSpec {
    /// Normalises (upper-case symbol, trimmed texts) and validates every field.
    pub fn validate(&mut self) -> Result<()> {
        self.symbol = self.symbol.trim().to_ascii_uppercase();
        if !valid_symbol(&self.symbol) {
            return Err(Error::invalid(
                "symbol",
                format!("symbol {:?} must be 1 to 32 letters, digits or . - _ / ^ =", self.symbol),
            ));
        }
        if !CLASSES.contains(&self.class.as_str()) {
            return Err(Error::invalid("class", "class must be stock, crypto, fx or index"));
        }
        check_text("name", self.name.as_deref(), 120)?;
        check_text("exchange", self.exchange.as_deref(), 60)?;
        check_text("category", self.category.as_deref(), 40)?;
        check_text("binance_symbol", self.binance_symbol.as_deref(), 32)?;
        check_text("okx_symbol", self.okx_symbol.as_deref(), 40)?;
        check_text("coingecko_id", self.coingecko_id.as_deref(), 80)?;
        if let Some(b) = &self.binance_symbol {
            if !b.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                return Err(Error::invalid("binance_symbol", "binance_symbol is upper-case letters and digits"));
            }
        }
        if let Some(o) = &self.okx_symbol {
            if o.split('-').count() < 2 || !o.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(Error::invalid("okx_symbol", "okx_symbol looks like BASE-QUOTE, e.g. BTC-USDT"));
            }
        }
        if let Some(c) = &self.coingecko_id {
            if !c.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(Error::invalid("coingecko_id", "coingecko_id is lower-case letters, digits and -"));
            }
        }
        if self.market_cap_rank.is_some_and(|r| r < 1) {
            return Err(Error::invalid("market_cap_rank", "market_cap_rank starts at 1"));
        }
        Ok(())
    }
}

impl GroupSpec {
    /// Normalises member symbols and validates every field.
    pub fn validate(&mut self) -> Result<()> {
        if !valid_slug(&self.slug) {
            return Err(Error::invalid("slug", "slug must be 1 to 48 lower-case letters, digits or -"));
        }
        check_text("name", Some(&self.name), 80)?;
        if self.description.len() > 500 {
            return Err(Error::invalid("description", "description is at most 500 characters"));
        }
        let mut seen = std::collections::HashSet::new();
        for member in &mut self.members {
            *member = member.trim().to_ascii_uppercase();
            if !seen.insert(member.clone()) {
                return Err(Error::invalid("members", format!("{member} is listed twice")));
            }
        }
        Ok(())
    }
}

/// Whether `slug` is a valid group slug.
pub fn valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    slug.len() <= 48
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_valid_and_its_groups_name_seeded_assets() {
        let seed = Catalogue::seed().unwrap();
        let symbols: std::collections::HashSet<_> = seed.assets.iter().map(|a| a.symbol.as_str()).collect();
        assert!(symbols.contains("BTCUSDT") && symbols.contains("AAPL") && symbols.contains("SPX"));
        for slug in ["top10", "defi", "layer1", "layer2", "meme"] {
            let group = seed.groups.iter().find(|g| g.slug == slug).unwrap();
            assert!(!group.members.is_empty());
            assert!(group.members.iter().all(|m| symbols.contains(m.as_str())), "{slug}");
        }
        let top10 = &seed.groups.iter().find(|g| g.slug == "top10").unwrap().members;
        assert_eq!(top10.len(), 10);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut spec = AssetSpec {
            symbol: "btc usdt".into(),
            name: None,
            class: "crypto".into(),
            exchange: None,
            category: None,
            binance_symbol: None,
            okx_symbol: None,
            coingecko_id: None,
            market_cap_rank: None,
        };
        assert!(matches!(spec.clone().validate(), Err(Error::Invalid { field, .. }) if field == "symbol"));
        spec.symbol = "btcusdt".into();
        spec.validate().unwrap();
        assert_eq!(spec.symbol, "BTCUSDT");
        spec.class = "bond".into();
        assert!(matches!(spec.clone().validate(), Err(Error::Invalid { field, .. }) if field == "class"));
        spec.class = "crypto".into();
        spec.okx_symbol = Some("BTCUSDT".into());
        assert!(matches!(spec.clone().validate(), Err(Error::Invalid { field, .. }) if field == "okx_symbol"));
        spec.okx_symbol = None;
        spec.market_cap_rank = Some(0);
        assert!(matches!(spec.validate(), Err(Error::Invalid { field, .. }) if field == "market_cap_rank"));
        let mut group =
            GroupSpec { slug: "DeFi".into(), name: "DeFi".into(), description: String::new(), members: vec![] };
        assert!(matches!(group.clone().validate(), Err(Error::Invalid { field, .. }) if field == "slug"));
        group.slug = "defi".into();
        group.members = vec!["uniusdt".into(), "UNIUSDT".into()];
        assert!(matches!(group.validate(), Err(Error::Invalid { field, .. }) if field == "members"));
    }
}
