//! Long text messages written as frames of at most `FRAME_MAX_BYTES`: tungstenite's write
//! buffer keeps the size of the largest frame it held for the life of the socket, and the
//! state snapshot carries the whole paper; the client joins the frames into one message.

use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Largest frame written, in bytes of payload.
pub const FRAME_MAX_BYTES: usize = 2 * 1024;

/// Sends `text` as one message: one frame if it is short, otherwise a text frame and
/// continuation frames cut at character boundaries, flushed once at the end.
pub async fn send_text<S>(socket: &mut S, text: String) -> Result<(), WsError>
where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    if text.len() <= FRAME_MAX_BYTES {
        return socket.send(Message::text(text)).await;
    }
    let pieces = pieces(&text);
    let last = pieces.len() - 1;
    for (index, piece) in pieces.into_iter().enumerate() {
        let opcode = if index == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(piece.as_bytes().to_vec(), opcode, index == last);
        socket.feed(Message::Frame(frame)).await?;
    }
    socket.flush().await
}

/// `text` cut into pieces of at most `FRAME_MAX_BYTES`, each ending on a character
/// boundary.
fn pieces(text: &str) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(text.len() / FRAME_MAX_BYTES + 1);
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(FRAME_MAX_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_character_boundaries_into_bounded_pieces() {
        let text = "Обчисліть значення виразу. ".repeat(300);
        let pieces = pieces(&text);
        assert!(pieces.len() > 1);
        assert!(
            pieces
                .iter()
                .all(|p| !p.is_empty() && p.len() <= FRAME_MAX_BYTES)
        );
        assert_eq!(pieces.concat(), text);
    }
}
