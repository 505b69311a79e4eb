repeat 3 {
  s1 = scan(region=all);
  s2 = wait(duration=500 ms);
}
