use super::*;

fn secs(n: i64) -> Duration {
    Duration::milliseconds(n * 1000)
}

#[tokio::test]
async fn put_get_take_delete() {
    let s = MemoryState::new();
    assert_eq!(s.put("a", b"1".to_vec(), secs(10)).await, Ok(()));
    assert_eq!(s.get("a").await, Ok(Some(b"1".to_vec())));
    assert_eq!(s.take("a").await, Ok(Some(b"1".to_vec())));
    assert_eq!(s.take("a").await, Ok(None));
    s.put("b", b"2".to_vec(), secs(10)).await.ok();
    s.delete("b").await.ok();
    assert_eq!(s.get("b").await, Ok(None));
}

#[tokio::test]
async fn keys_expire() {
    let s = MemoryState::new();
    s.put("a", b"1".to_vec(), Duration::milliseconds(20))
        .await
        .ok();
    tokio::time::sleep(StdDuration::from_millis(40)).await;
    assert_eq!(s.get("a").await, Ok(None));
    assert_eq!(s.put_new("a", b"2".to_vec(), secs(1)).await, Ok(true));
    assert_eq!(s.put_new("a", b"3".to_vec(), secs(1)).await, Ok(false));
}

#[tokio::test]
async fn counters_keep_their_window() {
    let s = MemoryState::new();
    assert_eq!(s.incr("c", Duration::milliseconds(30)).await, Ok(1));
    assert_eq!(s.incr("c", secs(100)).await, Ok(2));
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    assert_eq!(s.incr("c", secs(1)).await, Ok(1));
}
