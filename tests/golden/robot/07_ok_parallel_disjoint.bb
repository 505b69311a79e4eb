parallel {
  s1 = say(text="scanning");
  s2 = scan(region=table);
}
s3 = pick(object=blue_block);
