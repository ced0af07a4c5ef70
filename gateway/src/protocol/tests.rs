//! Wire-frame tests: parsing of every client frame and error, and the exact JSON of
//! server frames (snapshot tests: a change here is a protocol change).

use super::*;

#[test]
fn client_frames_parse() {
    let answer = r#"{"v":1,"type":"answer","seq":3,"question":"q3","value":{"choice":"Б"}}"#;
    assert_eq!(
        ClientFrame::parse(answer),
        Ok(ClientFrame::Answer {
            seq: 3,
            question: "q3".into(),
            value: AnswerValue::Choice("Б".into())
        })
    );
    let pairs = r#"{"v":1,"type":"answer","seq":4,"question":"q17","value":{"pairs":{"1":"Г"}}}"#;
    assert!(matches!(
        ClientFrame::parse(pairs),
        Ok(ClientFrame::Answer { .. })
    ));
    let proctor = r#"{"v":1,"type":"proctor","seq":5,"kind":"focus_lost"}"#;
    assert_eq!(
        ClientFrame::parse(proctor),
        Ok(ClientFrame::Proctor {
            seq: 5,
            kind: ViolationKind::FocusLost,
            detail: String::new()
        })
    );
    assert_eq!(
        ClientFrame::parse(r#"{"v":1,"type":"submit"}"#),
        Ok(ClientFrame::Submit)
    );
    assert_eq!(
        ClientFrame::parse(r#"{"v":1,"type":"resume","ticket":"t"}"#),
        Ok(ClientFrame::Resume { ticket: "t".into() })
    );
}

#[test]
fn bad_frames_are_named() {
    assert_eq!(ClientFrame::parse("{not json"), Err(FrameError::Malformed));
    assert_eq!(ClientFrame::parse("[1,2]"), Err(FrameError::Malformed));
    assert_eq!(
        ClientFrame::parse(r#"{"type":"ping"}"#),
        Err(FrameError::MissingVersion)
    );
    assert_eq!(
        ClientFrame::parse(r#"{"v":2,"type":"ping"}"#),
        Err(FrameError::UnsupportedVersion(2))
    );
    assert_eq!(
        ClientFrame::parse(r#"{"v":1,"type":"dance"}"#),
        Err(FrameError::UnknownType("dance".into()))
    );
    let missing_seq = r#"{"v":1,"type":"answer","question":"q1","value":{"choice":"А"}}"#;
    assert!(matches!(
        ClientFrame::parse(missing_seq),
        Err(FrameError::Invalid { kind: "answer", .. })
    ));
    let zero = r#"{"v":1,"type":"answer","seq":0,"question":"q1","value":{"choice":"А"}}"#;
    assert!(matches!(
        ClientFrame::parse(zero),
        Err(FrameError::Invalid { kind: "answer", .. })
    ));
    let huge = r#"{"v":1,"type":"proctor","seq":9007199254740993,"kind":"focus_lost"}"#;
    assert!(matches!(
        ClientFrame::parse(huge),
        Err(FrameError::Invalid {
            kind: "proctor",
            ..
        })
    ));
    let twice = r#"{"v":1,"type":"ping","type":"submit"}"#;
    assert!(matches!(
        ClientFrame::parse(twice),
        Err(FrameError::Invalid { kind: "frame", .. })
    ));
    let bad_kind = r#"{"v":1,"type":"proctor","seq":1,"kind":"sneezed"}"#;
    assert!(matches!(
        ClientFrame::parse(bad_kind),
        Err(FrameError::Invalid {
            kind: "proctor",
            ..
        })
    ));
}

#[test]
fn server_frames_have_a_fixed_shape() {
    assert_eq!(
        encode(&ServerFrame::Ack {
            seq: 7,
            saved_at_ms: 1000
        }),
        r#"{"saved_at_ms":1000,"seq":7,"type":"ack","v":1}"#
    );
    let error = ServerFrame::Error(ErrorFrame {
        code: "session_closed",
        message: "closed".into(),
        seq: Some(2),
    });
    assert_eq!(
        encode(&error),
        r#"{"code":"session_closed","message":"closed","seq":2,"type":"error","v":1}"#
    );
    assert_eq!(
        encode(&ServerFrame::TimeWarning {
            minutes_left: 5,
            deadline_ms: 9
        }),
        r#"{"deadline_ms":9,"minutes_left":5,"type":"time_warning","v":1}"#
    );
    let summary = Summary {
        status: Status::Expired,
        finished_at_ms: 5,
        answered: 2,
        questions: 3,
    };
    assert_eq!(
        encode(&ServerFrame::Submitted { summary }),
        concat!(
            r#"{"summary":{"answered":2,"finished_at_ms":5,"questions":3,"status":"expired"},"#,
            r#""type":"submitted","v":1}"#
        )
    );
}
