//! `/v1/admin/*`: user management and the audit log (admins only).

pub mod audit;
pub mod users;
