reply-opinion-by = An engineer will answer with a preliminary opinion by { $at }
reply-respond-by = We will respond by { $at }
reply-on-site-by = Qualified technicians with the needed instruments will be on site by { $at }
reply-survey-then-plan = They will survey and diagnose the cause, then agree a repair plan with you
reply-action-site-access = Arrange site access for our technicians
reply-action-contact = Name a contact person on site and keep the phone reachable
reply-action-keep-away = Keep people away from the affected area and stop loads on it until we arrive
reply-action-send-media = Send photos or a short video of the problem and its surroundings
