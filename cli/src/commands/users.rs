//! `kronos users create|list|set-role|set-tier|disable|enable` and `kronos api-keys
//! create|list|revoke`: operators' account work, straight on the database (every change
//! audited as done from the command line).

use anyhow::{bail, Context};
use clap::Subcommand;
use diesel_async::AsyncPgConnection;
use kronos_auth::{
    address,
    password::{self, HashParams, Passwords},
    secret,
};
use kronos_config::Config;
use kronos_db::{
    api_keys::{self, NewApiKey},
    sessions,
    users::{self, AccessChange, NewUser, User},
};
use kronos_types::{
    accounts::{AuditAction, Role, Scope, Tier},
    rfc3339,
};
use serde_json::json;

use super::audit_cli;

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account (verified: an operator vouches for the address).
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// `user` or `admin`.
        #[arg(long, default_value = "user")]
        role: String,
        /// `free`, `basic`, `pro` or `enterprise`.
        #[arg(long, default_value = "free")]
        tier: String,
        /// Read the password from this environment variable (default: generate one
        /// and print it once).
        #[arg(long)]
        password_env: Option<String>,
        /// Do nothing when an admin already exists (first-run setup).
        #[arg(long)]
        if_no_admin: bool,
    },
    /// Accounts by id.
    List {
        /// Only addresses containing this.
        #[arg(long)]
        email: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Change an account's role.
    SetRole {
        /// Email address.
        email: String,
        /// `user` or `admin`.
        role: String,
    },
    /// Change an account's tier.
    SetTier {
        /// Email address.
        email: String,
        /// `free`, `basic`, `pro` or `enterprise`.
        tier: String,
    },
    /// Disable an account: it cannot log in, its sessions end and its keys stop.
    Disable {
        /// Email address.
        email: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Email address.
        email: String,
    },
}

/// API-key subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key for an account and print it (shown once).
    Create {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// A name for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated scopes: read, predict, train, backtest, admin.
        #[arg(long, default_value = "read,predict")]
        scopes: String,
    },
    /// An account's keys.
    List {
        /// The account's email address.
        #[arg(long)]
        email: String,
    },
    /// Revoke a key.
    Revoke {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// Key id.
        id: i64,
    },
}

async fn by_email(conn: &mut AsyncPgConnection, email: &str) -> anyhow::Result<User> {
    users::find_by_email(conn, email).await?.with_context(|| format!("no account with address {email}"))
}

/// Runs a users subcommand.
pub async fn run_users(config: &Config, cmd: UsersCommand) -> anyhow::Result<()> {
    let pool = kronos_db::pool(&config.database_url, 1)?;
    let mut conn = pool.get().await?;
    match cmd {
        UsersCommand::Create { email, role, tier, password_env, if_no_admin } => {
            if if_no_admin && users::any_admin(&mut conn).await? {
                println!("an admin exists already; nothing created");
                return Ok(());
            }
            let email = address::parse("email", &email)?;
            let role: Role = role.parse()?;
            let tier: Tier = tier.parse()?;
            let (password, generated) = match password_env {
                Some(var) => (std::env::var(&var).with_context(|| format!("{var} is not set"))?, false),
                None => (secret::random_token()[..24].to_owned(), true),
            };
            password::check_rule("password", &password, &email)?;
            let passwords = Passwords::new(HashParams {
                memory_kib: config.auth.argon2_memory_kib,
                iterations: config.auth.argon2_iterations,
                parallelism: config.auth.argon2_parallelism,
            })?;
            let hash = passwords.hash(&password)?;
            let user =
                users::insert(&mut conn, &NewUser { email: &email, password_hash: &hash, role, tier, verified: true })
                    .await?;
            audit_cli(
                &mut conn,
                Some(user.id),
                AuditAction::Register,
                json!({ "by": "cli", "role": role, "tier": tier }),
            )
            .await?;
            println!("created {} (id {}, {role}, {tier})", user.email, user.id);
            if generated {
                println!("password: {password}");
                println!("(shown once; change it with POST /v1/me/password after logging in)");
            }
        }
        UsersCommand::List { email, limit } => {
            if !(1..=1000).contains(&limit) {
                bail!("--limit must be between 1 and 1000");
            }
            println!(
                "{:>6}  {:<32}  {:<5}  {:<10}  {:<8}  {:<8}  last login",
                "id", "email", "role", "tier", "verified", "disabled"
            );
            for u in users::list(&mut conn, email.as_deref(), None, limit).await? {
                println!(
                    "{:>6}  {:<32}  {:<5}  {:<10}  {:<8}  {:<8}  {}",
                    u.id,
                    u.email,
                    u.role,
                    u.tier,
                    u.verified(),
                    u.disabled,
                    u.last_login_at.map(rfc3339).unwrap_or_default()
                );
            }
        }
        UsersCommand::SetRole { email, role } => {
            let user = by_email(&mut conn, &email).await?;
            let role: Role = role.parse()?;
            let after =
                users::set_access(&mut conn, user.id, AccessChange { role: Some(role), ..AccessChange::default() })
                    .await?;
            audit_cli(
                &mut conn,
                Some(user.id),
                AuditAction::RoleChanged,
                json!({ "by": "cli", "from": user.role, "to": after.role }),
            )
            .await?;
            println!("{}: role {}", after.email, after.role);
        }
        UsersCommand::SetTier { email, tier } => {
            let user = by_email(&mut conn, &email).await?;
            let tier: Tier = tier.parse()?;
            let after =
                users::set_access(&mut conn, user.id, AccessChange { tier: Some(tier), ..AccessChange::default() })
                    .await?;
            audit_cli(
                &mut conn,
                Some(user.id),
                AuditAction::TierChanged,
                json!({ "by": "cli", "from": user.tier, "to": after.tier }),
            )
            .await?;
            println!("{}: tier {}", after.email, after.tier);
        }
        UsersCommand::Disable { email } => set_disabled(&mut conn, &email, true).await?,
        UsersCommand::Enable { email } => set_disabled(&mut conn, &email, false).await?,
    }
    Ok(())
}

async fn set_disabled(conn: &mut AsyncPgConnection, email: &str, disabled: bool) -> anyhow::Result<()> {
    let user = by_email(conn, email).await?;
    let after =
        users::set_access(conn, user.id, AccessChange { disabled: Some(disabled), ..AccessChange::default() }).await?;
    if disabled {
        sessions::revoke_all(conn, user.id).await?;
    }
    audit_cli(conn, Some(user.id), AuditAction::UserDisabled, json!({ "by": "cli", "disabled": disabled })).await?;
    println!("{}: {}", after.email, if disabled { "disabled (sessions ended)" } else { "enabled" });
    Ok(())
}

/// Runs an api-keys subcommand.
pub async fn run_api_keys(config: &Config, cmd: ApiKeysCommand) -> anyhow::Result<()> {
    let pool = kronos_db::pool(&config.database_url, 1)?;
    let mut conn = pool.get().await?;
    match cmd {
        ApiKeysCommand::Create { email, name, scopes } => {
            let user = by_email(&mut conn, &email).await?;
            let scopes: Vec<Scope> =
                scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>()?;
            if scopes.is_empty() {
                bail!("--scopes names no scope");
            }
            if scopes.contains(&Scope::Admin) && user.role != Role::Admin {
                bail!("only an admin's key may carry the admin scope");
            }
            let issued = secret::new_api_key();
            let key = api_keys::insert(
                &mut conn,
                &NewApiKey {
                    user_id: user.id,
                    name: &name,
                    shown: &issued.shown,
                    key_hash: &issued.hash,
                    scopes: &scopes,
                    expires_at: None,
                },
            )
            .await?;
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            audit_cli(
                &mut conn,
                Some(user.id),
                AuditAction::ApiKeyCreated,
                json!({ "by": "cli", "key": key.id, "prefix": key.shown, "scopes": names }),
            )
            .await?;
            println!("{}", issued.plaintext);
            eprintln!("key {} for {} ({}); shown once: store it now", key.id, user.email, names.join(","));
        }
        ApiKeysCommand::List { email } => {
            let user = by_email(&mut conn, &email).await?;
            println!("{:>6}  {:<18}  {:<20}  {:<28}  state", "id", "prefix", "name", "scopes");
            for k in api_keys::list(&mut conn, user.id).await? {
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.usable(chrono::Utc::now()) {
                    "live"
                } else {
                    "expired"
                };
                println!("{:>6}  {:<18}  {:<20}  {:<28}  {state}", k.id, k.shown, k.name, scopes.join(","));
            }
        }
        ApiKeysCommand::Revoke { email, id } => {
            let user = by_email(&mut conn, &email).await?;
            let key =
                api_keys::revoke(&mut conn, user.id, id).await?.with_context(|| format!("{email} has no key {id}"))?;
            audit_cli(
                &mut conn,
                Some(user.id),
                AuditAction::ApiKeyRevoked,
                json!({ "by": "cli", "key": key.id, "prefix": key.shown }),
            )
            .await?;
            println!("revoked key {id} ({})", key.shown);
        }
    }
    Ok(())
}
