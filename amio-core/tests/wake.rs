//! The control side's wake-up descriptor: readable after the engine has sent
//! something, once per re-arm; always after a fatal driver error.
#![allow(clippy::unwrap_used)]

mod support;

use amio_core::{Config, Event, FaultKind};
use support::*;

/// Whether `fd` is readable now (poll with no wait).
fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    assert!(n >= 0, "poll failed");
    n == 1 && p.revents & libc::POLLIN != 0
}

#[test]
fn the_wake_fd_signals_once_per_rearm_and_on_faults() {
    let mut rig = Rig::new(2, 2, 64, (0, 0), &Config::default());
    let fd = rig.interface.wake_fd().unwrap();
    assert_eq!(rig.interface.wake_fd().unwrap(), fd, "one descriptor");
    assert!(!readable(fd), "nothing sent yet");

    rig.engine.render(64);
    assert!(readable(fd), "a period sends a position report");
    // Not re-armed: more periods do not write again, and it stays readable.
    rig.engine.render(64);
    rig.engine.render(64);
    assert!(readable(fd));

    rig.interface.clear_wake();
    assert!(!readable(fd), "cleared");
    assert_eq!(
        rig.interface
            .events()
            .iter()
            .filter(|e| matches!(e, Event::Position(_)))
            .count(),
        3,
        "the three periods' reports wait in the queue"
    );
    rig.engine.render(64);
    assert!(readable(fd), "re-armed: the next period wakes");

    // A fatal error wakes even when not armed.
    rig.interface.clear_wake();
    rig.engine.render(64);
    assert!(readable(fd));
    let mut buf = [0u8; 8];
    // SAFETY: reading the byte by hand empties it without re-arming.
    assert_eq!(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 8) }, 1);
    assert!(!readable(fd));
    rig.interface
        .notifier()
        .fatal(FaultKind::DeviceGone, "unplugged");
    assert!(readable(fd), "a fault always wakes");
    assert!(rig
        .interface
        .events()
        .iter()
        .any(|e| matches!(e, Event::Fatal(f) if f.message == "unplugged")));
}

#[test]
fn the_position_reader_follows_the_engine_from_another_thread() {
    let mut rig = Rig::new(2, 0, 64, (0, 0), &Config::default());
    let reader = rig.interface.position_reader();
    rig.interface.roll(Some(0)).unwrap();
    for _ in 0..10 {
        rig.engine.render(64);
    }
    let r = std::thread::spawn(move || reader.read()).join().unwrap();
    assert_eq!(r.stream_frame, 640);
    assert_eq!(r.position, 640);
    assert!(r.rolling);
    assert_eq!(r, rig.interface.position());
}
