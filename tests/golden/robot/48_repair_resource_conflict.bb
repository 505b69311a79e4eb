# repair
parallel {
  s1 = pick(object=red_cup);
  s2 = home();
}
