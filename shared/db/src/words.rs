//! Text columns read straight into the enums of `kronos_types` (job kinds and
//! statuses, model families, statuses and sources): a row field declared
//! `#[diesel(deserialize_as = Word<JobKind>)]` holds the enum, and a value the enum
//! does not know (the columns' CHECK constraints allow none) is a deserialisation
//! error, not a string compared later.

use std::str::FromStr;

use diesel::{
    deserialize::{self, FromSql, FromSqlRow},
    pg::{Pg, PgValue},
    sql_types::Text,
};
use kronos_types::{
    jobs::{JobKind, JobStatus},
    registry::{ModelFamily, ModelSource, ModelStatus},
};

/// A word read from a text column and parsed into `T`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct Word<T>(pub T);

impl<T> FromSql<Text, Pg> for Word<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Ok(Self(text.parse()?))
    }
}

macro_rules! unwrap_word {
    ($($t:ty),*) => {$(
        impl From<Word<$t>> for $t {
            fn from(word: Word<$t>) -> Self {
                word.0
            }
        }
    )*};
}

unwrap_word!(JobKind, JobStatus, ModelFamily, ModelStatus, ModelSource);
