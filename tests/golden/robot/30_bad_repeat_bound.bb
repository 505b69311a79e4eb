repeat 12 {
  s1 = scan(region=all);
}
