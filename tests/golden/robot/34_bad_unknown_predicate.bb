if sky_is_blue {
  s1 = say(text="nice");
}
