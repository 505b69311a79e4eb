parallel {
  s1 = pick(object=red_cup);
  s2 = push(object=blue_block, direction=left, distance=5 cm);
}
