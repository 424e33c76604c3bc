//! Text columns read straight into the enums of `kronos_types` (job kinds and
//! statuses, model families, statuses and sources, roles, tiers, scopes, profile
//! choices, email kinds, audited actions): a row field declared
//! `#[diesel(deserialize_as = Word<JobKind>)]` holds the enum (`MaybeWord` for a
//! nullable column, `WordList` for a text array), and a value the enum does not know
//! (the columns' CHECK constraints allow none) is a deserialisation error, not a
//! string compared later.

use std::str::FromStr;

use diesel::{
    deserialize::{self, FromSql, FromSqlRow},
    pg::{Pg, PgValue},
    sql_types::{Array, Nullable, Text},
};
use kronos_types::{
    accounts::{AuditAction, EmailKind, Experience, Metric, RiskTolerance, Role, Scope, Tier},
    alerts::AlertKind,
    batches::{BatchFormat, BatchStatus, CallbackEvent, CallbackStatus},
    billing::SubscriptionStatus,
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

/// A word read from a nullable text column.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct MaybeWord<T>(pub Option<T>);

impl<T> FromSql<Nullable<Text>, Pg> for MaybeWord<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Some(Word::<T>::from_sql(bytes)?.0)))
    }

    fn from_nullable_sql(bytes: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(Self(None)),
        }
    }
}

/// Words read from a text array column.
#[derive(Debug, Clone, FromSqlRow)]
pub struct WordList<T>(pub Vec<T>);

impl<T> FromSql<Array<Text>, Pg> for WordList<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let words = <Vec<String> as FromSql<Array<Text>, Pg>>::from_sql(bytes)?;
        Ok(Self(words.iter().map(|w| w.parse()).collect::<Result<_, _>>()?))
    }
}

macro_rules! unwrap_word {
    ($($t:ty),*) => {$(
        impl From<Word<$t>> for $t {
            fn from(word: Word<$t>) -> Self {
                word.0
            }
        }

        impl From<MaybeWord<$t>> for Option<$t> {
            fn from(word: MaybeWord<$t>) -> Self {
                word.0
            }
        }

        impl From<WordList<$t>> for Vec<$t> {
            fn from(words: WordList<$t>) -> Self {
                words.0
            }
        }
    )*};
}

unwrap_word!(
    JobKind,
    JobStatus,
    ModelFamily,
    ModelStatus,
    ModelSource,
    Role,
    Tier,
    Scope,
    Metric,
    RiskTolerance,
    Experience,
    EmailKind,
    AuditAction,
    SubscriptionStatus,
    AlertKind,
    BatchStatus,
    BatchFormat,
    CallbackStatus,
    CallbackEvent
);
