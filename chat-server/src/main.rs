use chat_server::config::{Config, LogFormat};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads exist: see `heap::limit_arenas`.
    chat_server::heap::limit_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    if let Some(command) = &config.command {
        chat_server::backup::run(command, &config).await?;
        return Ok(());
    }
    let shutdown = chat_server::server::signal_shutdown();
    chat_server::server::run(config, shutdown).await?;
    Ok(())
}
