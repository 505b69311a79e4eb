if holding(red_cup) {
  s1 = say(text="holding");
} else {
  s2 = release(object=red_cup);
}
