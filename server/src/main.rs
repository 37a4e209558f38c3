//! `sightline`: serve, migrate, demo. Wiring only.

use clap::Parser;
use sightline::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(cfg) => {
            cfg.validate()?;
            sightline::http::serve(*cfg).await
        }
        Command::Migrate(db) => {
            let url = db.url();
            let backend = sightline::store::connect(&url).await?;
            tracing::info!(backend = backend.name(), url = %url, "Migrations applied.");
            Ok(())
        }
        Command::CheckRules(args) => {
            let text = std::fs::read_to_string(&args.file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.file.display()))?;
            let keys = args.rollups.to_config().dimension_keys();
            match sightline::alerts::rule::RulesFile::parse(&text, &keys) {
                Ok(f) => {
                    println!("{}: {} rules, all valid", args.file.display(), f.rule.len());
                    Ok(())
                }
                Err(problems) => {
                    eprintln!("{}:\n{problems}", args.file.display());
                    std::process::exit(1)
                }
            }
        }
        Command::User(args) => sightline::auth::cli::run(args).await,
        Command::Demo(d) => {
            let settings = sightline::demo::sender::DemoSettings {
                target: d.target,
                rate: d.rate,
                batch: d.batch,
                seed: d.seed,
                total: d.total,
                api_key: d.api_key.map(|k| k.0),
                experiment_id: d.experiment_id,
                backfill_minutes: d.backfill_minutes,
            };
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = tx.send(true);
            });
            let report = sightline::demo::sender::run(settings, rx).await?;
            println!("{report:?}");
            Ok(())
        }
    }
}
