repeat 10 {
  repeat 10 {
    s1 = wait(duration=60 s);
  }
}
