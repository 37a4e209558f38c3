//! `sightline user add|reset-password|list`: the first admin, or a way back in when every
//! admin is locked out. Works on the database directly, beside a running server.

use std::sync::Arc;

use app::contract::Accounts as _;
use app::types::Role;

use super::accounts::Accounts;
use super::gate::Gate;
use super::ApiKeys;
use crate::config::{UserAction, UserArgs};

pub async fn run(args: UserArgs) -> anyhow::Result<()> {
    let backend = crate::store::connect(&args.action.database().url()).await?;
    let store = backend.access();
    let accounts = Accounts::new(Arc::new(Gate::new(true, ApiKeys::default(), store.clone())));
    let fail = |e: app::AppError| anyhow::anyhow!("{e}");
    match args.action {
        UserAction::Add { name, role, .. } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role {role:?}: use viewer, editor or admin"))?;
            let secret = accounts.create_user(name, role).await.map_err(fail)?;
            println!("{}: {}", secret.label, secret.secret);
        }
        UserAction::ResetPassword { name, .. } => {
            let user = store
                .user_by_name(&name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user named {name:?}"))?;
            let secret = accounts.reset_password(user.id).await.map_err(fail)?;
            println!("{}: {}", secret.label, secret.secret);
        }
        UserAction::List { .. } => {
            for u in store.users().await? {
                let status = if u.disabled_ms.is_some() {
                    "disabled"
                } else if u.must_change_password {
                    "one-time password"
                } else {
                    "active"
                };
                println!("{}\t{}\t{status}", u.username, u.role.as_str());
            }
        }
    }
    Ok(())
}
