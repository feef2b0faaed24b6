use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = chat_bench::cli::Cli::parse();
    // Tens of thousands of sockets: the soft limit goes up to the hard one before anything opens.
    chat_bench::sys::raise_fd_limit()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(chat_bench::cli::execute(cli))
}
