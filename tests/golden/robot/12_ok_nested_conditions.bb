if gripper_empty && !scanned {
  s1 = scan(region=bins);
  if scanned || holding(red_cup) {
    s2 = say(text="ready");
  }
}
