//! The word enums: lower-case words in the database and the API, each an enum with
//! `ALL`, `as_str`, `Display`, `FromStr` (the error names the field) and
//! `From<_> for String`. A module that defines one imports `fmt`, `FromStr`, `Error`,
//! `Serialize` and `Deserialize`, which the expansion names.

/// Defines a lower-case word enum with `ALL`, `as_str`, `Display` and `FromStr` (the
/// error names `field`; `kronos_db::words` reads the text columns through it).
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $word:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The spelling in the database and the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// The word stored in the database.
        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.as_str().to_owned()
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let words: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Error::invalid($field, format!("unknown {} {s:?}; expected one of {}", $field, words.join(", ")))
                })
            }
        }

    };
}

pub(crate) use word_enum;
