//! A [`Transcript`] as JSON, plain text or HTML: pure functions, no I/O, so the download and the
//! transcript mail are the same document.
//!
//! Whatever a message holds is data, never markup: HTML escapes every text it prints (bodies,
//! names, file names, labels), and both text forms replace control characters other than line
//! breaks and tabs, so a body cannot carry a terminal escape sequence or a NUL into a file.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::Transcript;
use crate::model::{Author, AuthorKind, Message};

/// The document, pretty-printed: `{"conversation", "visitor", "messages", "notes_included",
/// "generated_at"}`; notes carry `"private": true`.
pub fn to_json(t: &Transcript) -> String {
    let doc = serde_json::json!({
        "conversation": t.conversation,
        "visitor": t.visitor,
        "messages": t.messages,
        "notes_included": t.notes,
        "generated_at": t.generated_at,
    });
    // Serializing owned JSON values into a String cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// One line per message, `[time] Name (kind): body`, notes marked `[private note]`; further lines
/// of a body and its attachments are indented below it.
pub fn to_text(t: &Transcript) -> String {
    let mut out = String::new();
    for (label, value) in header(t) {
        let _ = writeln!(out, "{label}: {}", clean(&value));
    }
    out.push('\n');
    for m in &t.messages {
        let note = if m.private { " [private note]" } else { "" };
        let _ = write!(
            out,
            "[{}] {} ({}){note}:",
            time(m.created_at),
            clean(&author_name(&m.author)),
            m.author.kind.as_str()
        );
        let body = clean(&m.body);
        let mut lines = body.lines();
        match lines.next() {
            Some(first) => {
                let _ = writeln!(out, " {first}");
            }
            None => out.push('\n'),
        }
        for line in lines {
            let _ = writeln!(out, "    {line}");
        }
        for a in &m.attachments {
            let _ = writeln!(
                out,
                "    [attachment] {} ({}, {} bytes)",
                clean(&a.filename),
                clean(&a.content_type),
                a.size
            );
        }
    }
    if t.messages.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}

/// A standalone page (inline style, no script, nothing fetched), every text escaped; notes are
/// marked with a "Private note" label and the `note` class.
pub fn to_html(t: &Transcript) -> String {
    let mut out = String::new();
    let title = format!("Transcript of conversation {}", t.conversation.id);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Conversation \
         transcript</h1>\n<dl>\n",
        escape(&title)
    );
    for (label, value) in header(t) {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(&value));
    }
    out.push_str("</dl>\n<ol class=\"messages\">\n");
    for m in &t.messages {
        message_html(&mut out, m);
    }
    out.push_str("</ol>\n");
    if t.messages.is_empty() {
        out.push_str("<p>(no messages)</p>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;\
padding:0 1rem;color:#1b1b1f}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\
dt{font-weight:600}dd{margin:0}ol.messages{list-style:none;padding:0}\
li.message{border-left:3px solid #c9ccd6;margin:.8rem 0;padding:.2rem .8rem}\
li.agent{border-color:#0b5fff}li.note{background:#fff8db;border-color:#d4a300}\
.meta{margin:0;color:#555;font-size:.9em}.body{white-space:pre-wrap;margin:.3rem 0}\
.note-label{color:#8a6500;font-weight:600}";

fn message_html(out: &mut String, m: &Message) {
    let kind = m.author.kind.as_str();
    let class = if m.private {
        format!("message {kind} note")
    } else {
        format!("message {kind}")
    };
    let _ = write!(
        out,
        "<li class=\"{class}\" id=\"seq-{}\">\n<p class=\"meta\"><span class=\"author\">{}</span> \
         ({kind}) <time datetime=\"{}\">{}</time>",
        m.seq,
        escape(&author_name(&m.author)),
        m.created_at.to_rfc3339(),
        time(m.created_at)
    );
    if m.private {
        out.push_str(" <span class=\"note-label\">Private note</span>");
    }
    let _ = writeln!(out, "</p>\n<div class=\"body\">{}</div>", escape(&m.body));
    if !m.attachments.is_empty() {
        out.push_str("<ul class=\"attachments\">\n");
        for a in &m.attachments {
            let _ = writeln!(
                out,
                "<li>{} ({}, {} bytes)</li>",
                escape(&a.filename),
                escape(&a.content_type),
                a.size
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</li>\n");
}

/// The facts above the messages, as (label, value) pairs both text forms print.
fn header(t: &Transcript) -> Vec<(&'static str, String)> {
    let c = &t.conversation;
    let name = t
        .visitor
        .as_ref()
        .and_then(|v| v.name.clone())
        .or_else(|| c.visitor.name.clone())
        .unwrap_or_else(|| "Visitor".into());
    let email = t
        .visitor
        .as_ref()
        .and_then(|v| v.email.as_deref())
        .map(|e| format!(" <{e}>"))
        .unwrap_or_default();
    let mut rows = vec![
        ("Conversation", c.id.clone()),
        ("Visitor", format!("{name}{email} ({})", c.visitor.id)),
        ("Status", c.status.as_str().to_string()),
        ("Started", time(c.created_at)),
        ("Last activity", time(c.updated_at)),
    ];
    if !c.labels.is_empty() {
        rows.push(("Labels", c.labels.join(", ")));
    }
    rows.push(("Messages", t.messages.len().to_string()));
    // A visitor's transcript says nothing about notes, not even that there are none.
    if t.notes {
        rows.push((
            "Private notes",
            "included, each marked as a private note".into(),
        ));
    }
    rows.push(("Generated", time(t.generated_at)));
    rows
}

fn author_name(a: &Author) -> String {
    a.name.clone().unwrap_or_else(|| {
        match a.kind {
            AuthorKind::Visitor => "Visitor",
            AuthorKind::Agent => "Agent",
            AuthorKind::System => "System",
        }
        .to_string()
    })
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Control characters other than `\n` and `\t` become U+FFFD (`\r\n` is kept as a line break).
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Text as HTML character data or a quoted attribute value (after [`clean`]).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{AttachmentRef, Conversation, ConversationStatus, Visitor, VisitorRef};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_765_000_000 + secs, 0).unwrap()
    }

    fn message(seq: u64, kind: AuthorKind, name: &str, body: &str, private: bool) -> Message {
        Message {
            id: format!("m{seq}"),
            conversation_id: "c1".into(),
            seq,
            client_msg_id: None,
            author: Author {
                kind,
                id: format!("{}-1", kind.as_str()),
                name: Some(name.into()),
            },
            body: body.into(),
            attachments: Vec::new(),
            private,
            created_at: at(seq as i64),
        }
    }

    fn transcript(notes: bool) -> Transcript {
        let mut hello = message(
            1,
            AuthorKind::Visitor,
            "Vera <v>",
            "hello\nsecond line",
            false,
        );
        hello.attachments.push(AttachmentRef {
            id: "a1".into(),
            filename: "report \"q3\".pdf".into(),
            content_type: "application/pdf".into(),
            size: 1000,
        });
        let mut messages = vec![
            hello,
            message(2, AuthorKind::Agent, "Ana", "VIP customer", true),
            message(
                3,
                AuthorKind::Agent,
                "Ana",
                "<script>alert('x')</script> & \u{1b}[31mred",
                false,
            ),
        ];
        if !notes {
            messages.retain(|m| !m.private);
        }
        Transcript {
            conversation: Conversation {
                id: "c1".into(),
                status: ConversationStatus::Resolved,
                visitor: VisitorRef {
                    id: "visitor-1".into(),
                    name: Some("Vera <v>".into()),
                },
                assignee: Some("agent-1".into()),
                created_at: at(0),
                updated_at: at(10),
                last_seq: 3,
                last_public_seq: 3,
                read: Default::default(),
                labels: vec!["billing".into()],
                team_id: None,
                resolved_at: None,
                rating: None,
                unread: None,
            },
            visitor: Some(Visitor {
                id: "visitor-1".into(),
                name: Some("Vera <v>".into()),
                email: Some("vera@example.com".into()),
                created_at: at(0),
            }),
            messages,
            notes,
            generated_at: at(20),
        }
    }

    #[test]
    fn html_escapes_every_text_it_prints() {
        let html = to_html(&transcript(true));
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;"),
            "{html}"
        );
        assert!(html.contains("Vera &lt;v&gt;"), "{html}");
        assert!(html.contains("report &quot;q3&quot;.pdf"), "{html}");
        assert!(!html.contains('\u{1b}'), "control characters are replaced");
        // The only tags are the template's: no script, no external resource.
        assert!(
            !html.contains("<script") && !html.contains("src="),
            "{html}"
        );
    }

    #[test]
    fn notes_are_marked_in_every_format_and_absent_when_left_out() {
        let with = transcript(true);
        assert!(to_text(&with).contains("(agent) [private note]: VIP customer"));
        let html = to_html(&with);
        assert!(html.contains("class=\"message agent note\""), "{html}");
        assert!(html.contains("Private note</span>"), "{html}");
        let json: serde_json::Value = serde_json::from_str(&to_json(&with)).unwrap();
        assert_eq!(json["messages"][1]["private"], true);
        assert_eq!(json["notes_included"], true);

        let without = transcript(false);
        for doc in [to_text(&without), to_html(&without), to_json(&without)] {
            assert!(!doc.contains("VIP customer"), "{doc}");
            assert!(!doc.contains("[private note]"), "{doc}");
            assert!(!doc.contains("\"private\""), "{doc}");
        }
    }

    #[test]
    fn text_puts_one_message_per_line_with_continuations_and_attachments_indented() {
        let text = to_text(&transcript(false));
        let expected = "[2025-12-06 05:46:41 UTC] Vera <v> (visitor): hello\n    second line\n    \
                        [attachment] report \"q3\".pdf (application/pdf, 1000 bytes)\n";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("Visitor: Vera <v> <vera@example.com> (visitor-1)"),
            "{text}"
        );
        assert!(text.contains("Labels: billing"), "{text}");
        assert!(
            text.contains("\u{fffd}[31mred"),
            "the escape byte is replaced: {text}"
        );
    }

    #[test]
    fn json_is_the_conversation_the_visitor_and_the_messages() {
        let json: serde_json::Value = serde_json::from_str(&to_json(&transcript(false))).unwrap();
        assert_eq!(json["conversation"]["id"], "c1");
        assert_eq!(json["visitor"]["email"], "vera@example.com");
        assert_eq!(json["messages"].as_array().unwrap().len(), 2);
        assert_eq!(json["notes_included"], false);
    }
}
