//! One certificate for one host from the directory: a new order, its
//! HTTP-01 challenge answered through [`Tokens`], the key made here (the
//! directory never sees it), the chain fetched.

use std::time::Duration;

use anyhow::{Context, bail};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};

use super::challenge::Tokens;
use super::store::{Issued, Store, not_after};
use crate::config::AcmeConfig;

/// The directory validates within seconds; an order that takes longer
/// than this is given up and tried again later.
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

/// The account in `StateDir`, or a new one registered (and saved).
pub async fn account(config: &AcmeConfig, store: &Store) -> anyhow::Result<Account> {
    let builder = || match &config.directory_ca {
        Some(ca) => Account::builder_with_root(ca)
            .with_context(|| format!("ACME.DirectoryCA {}", ca.display())),
        None => Account::builder().context("the system's trusted roots"),
    };
    if let Some(json) = store.account()? {
        let credentials: AccountCredentials =
            serde_json::from_str(&json).context("ACME.StateDir: account.json")?;
        return builder()?
            .from_credentials(credentials)
            .await
            .with_context(|| format!("ACME directory {}: the saved account", config.directory));
    }
    let contact: Vec<String> = config.email.iter().map(|e| format!("mailto:{e}")).collect();
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            config.directory.clone(),
            None,
        )
        .await
        .with_context(|| {
            format!(
                "ACME directory {}: registering an account",
                config.directory
            )
        })?;
    store.save_account(&serde_json::to_string(&credentials)?)?;
    tracing::info!(directory = %config.directory, id = %account.id(), "ACME account registered");
    Ok(account)
}

/// Order `host`'s certificate; the challenge tokens are withdrawn whatever
/// the outcome.
pub async fn issue(account: &Account, host: &str, tokens: &Tokens) -> anyhow::Result<Issued> {
    let mut placed = Vec::new();
    let result = tokio::time::timeout(ORDER_TIMEOUT, run(account, host, tokens, &mut placed)).await;
    for token in &placed {
        tokens.remove(token);
    }
    match result {
        Ok(issued) => issued,
        Err(_) => bail!("no certificate within {ORDER_TIMEOUT:?}"),
    }
}

async fn run(
    account: &Account,
    host: &str,
    tokens: &Tokens,
    placed: &mut Vec<String>,
) -> anyhow::Result<Issued> {
    let identifiers = [Identifier::Dns(host.to_owned())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .context("new order")?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.context("authorization")?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => bail!("authorization is {other:?}"),
        }
        let mut challenge = authz
            .challenge(ChallengeType::Http01)
            .context("the directory offers no http-01 challenge")?;
        let token = challenge.token.clone();
        tokens.insert(&token, challenge.key_authorization().as_str());
        placed.push(token);
        challenge.set_ready().await.context("challenge")?;
    }
    let retries = RetryPolicy::default().timeout(ORDER_TIMEOUT);
    let status = order.poll_ready(&retries).await.context("validation")?;
    if status != OrderStatus::Ready {
        let why = order
            .authorizations()
            .next()
            .await
            .and_then(Result::ok)
            .and_then(|a| {
                a.challenges
                    .iter()
                    .find_map(|c| c.error.as_ref().map(|e| e.to_string()))
            })
            .unwrap_or_default();
        bail!("the order is {status:?} {why}");
    }
    let key_pem = order.finalize().await.context("finalize")?;
    let chain_pem = order
        .poll_certificate(&retries)
        .await
        .context("certificate")?;
    let not_after = not_after(&chain_pem).context("the issued certificate")?;
    Ok(Issued {
        chain_pem,
        key_pem,
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a running pebble (`SLUICE_PEBBLE_DIR`=its directory URL,
    /// `SLUICE_PEBBLE_CA`=its listener's CA), started with
    /// PEBBLE_VA_ALWAYS_VALID=1: account, order, key and chain, and the
    /// account read back from StateDir. Skipped without them.
    #[tokio::test]
    async fn issues_from_pebble() {
        let (Ok(dir), Ok(ca)) = (
            std::env::var("SLUICE_PEBBLE_DIR"),
            std::env::var("SLUICE_PEBBLE_CA"),
        ) else {
            eprintln!("SLUICE_PEBBLE_DIR/SLUICE_PEBBLE_CA not set: skipped");
            return;
        };
        let state = tempfile::tempdir().unwrap();
        let config = AcmeConfig {
            directory: dir,
            directory_ca: Some(ca.into()),
            ..AcmeConfig::default()
        };
        let store = Store::open(state.path()).unwrap();
        let account = account(&config, &store).await.unwrap();
        let tokens = Tokens::default();
        let issued = issue(&account, "a.test", &tokens).await.unwrap();
        assert!(issued.chain_pem.contains("BEGIN CERTIFICATE"));
        assert!(issued.key_pem.contains("PRIVATE KEY"));
        assert!(issued.not_after > std::time::SystemTime::now());
        store.save("a.test", &issued).unwrap();
        let again = super::account(&config, &Store::open(state.path()).unwrap())
            .await
            .unwrap();
        assert_eq!(again.id(), account.id(), "the saved account is used again");
    }
}
