//! A socket made of a separate sink and stream. The session owns one object that is both, so
//! that reading and writing need no lock between them (`StreamExt::split` puts a `BiLock`
//! around the websocket, taken on every poll of either half: 2.4% of the subscribers'
//! replica in a profile); tests and other transports that have two halves join them here.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream};

/// `sink` receives what the session writes; `stream` yields what the client sent.
pub struct Duplex<S, R> {
    sink: S,
    stream: R,
}

impl<S: Unpin, R: Unpin> Duplex<S, R> {
    pub fn new(sink: S, stream: R) -> Self {
        Self { sink, stream }
    }
}

impl<S, R, T> Sink<T> for Duplex<S, R>
where
    S: Sink<T> + Unpin,
    R: Unpin,
{
    type Error = S::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.sink).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), S::Error> {
        Pin::new(&mut self.sink).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.sink).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        Pin::new(&mut self.sink).poll_close(cx)
    }
}

impl<S, R> Stream for Duplex<S, R>
where
    S: Unpin,
    R: Stream + Unpin,
{
    type Item = R::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use futures::channel::mpsc;
    use futures::{SinkExt, StreamExt};

    use super::Duplex;

    #[tokio::test]
    async fn writes_go_to_the_sink_and_reads_come_from_the_stream() {
        let (to_peer, mut from_us) = mpsc::unbounded::<u32>();
        let (mut to_us, from_peer) = mpsc::unbounded::<u32>();
        let mut socket = Duplex::new(to_peer, from_peer);
        socket.send(1).await.unwrap();
        to_us.send(2).await.unwrap();
        assert_eq!(from_us.next().await, Some(1));
        assert_eq!(socket.next().await, Some(2));
        drop(to_us);
        assert_eq!(socket.next().await, None);
        socket.close().await.unwrap();
        assert_eq!(
            from_us.next().await,
            None,
            "closing the socket closes its sink"
        );
    }
}
