# A branch is checked under the facts its guard implies: a person is present.
if human_near {
  s1 = move_to(target=green_ball, speed=0.5 m/s);
}
