if holding(red_cup) {
  s1 = place(object=red_cup, target=bin_a);
} else {
  s2 = pick(object=red_cup);
  s3 = place(object=red_cup, target=bin_a);
}
