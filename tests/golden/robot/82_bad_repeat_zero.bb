repeat 0 {
  s1 = move_to(target={x=0.5, y=0, z=-0.2});
}
