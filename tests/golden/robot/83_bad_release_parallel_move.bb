s1 = pick(object=red_cup);
parallel {
  s2 = release(object=red_cup);
  s3 = move_to(target=bin_a, speed=0.5 m/s);
}
